"""Outgoing webhooks: events recorded with the change they report (`events`), delivered, signed,
retried and ordered by the workers (`delivery`), and the server health that `server.degraded`
follows (`health`)."""
