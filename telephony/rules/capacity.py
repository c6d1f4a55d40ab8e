"""Room for new lines: a tenant's licences and a server's line capacity.

One rule for a single create and for a whole import: the caller counts what it has and what it
adds, per tenant and per server, and shows the same words."""

from __future__ import annotations

from telephony.models import Server, Tenant


def licence_shortfall(tenant: Tenant, *, current: int, adding: int) -> str:
    """Why `adding` more users do not fit the tenant's licences (empty: they fit)."""
    if current + adding <= tenant.licences:
        return ""
    return f"{tenant} has {tenant.licences} licences and {current} users; there is no room for {adding} more."


def server_shortfall(server: Server, *, on_server: int, adding: int) -> str:
    """Why `adding` more lines do not fit the server (empty: they fit, or it has no limit)."""
    if server.capacity_users is None or on_server + adding <= server.capacity_users:
        return ""
    return f"Server {server} holds {on_server} of {server.capacity_users} lines; there is no room for {adding} more."
