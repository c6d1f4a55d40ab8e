"""The provisioning engine: planning jobs in the services' transactions, dispatching them to Celery
after commit, running them in workers (ordered, limited per server, retried), and sweeping up
whatever a dead worker or an unreachable broker left behind."""
