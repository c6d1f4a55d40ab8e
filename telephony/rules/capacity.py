"""Room for new lines: a tenant's licences and a server's line capacity.

One rule for a single create and for a whole import: the caller counts what it has and what it
adds, per tenant and per server, and shows the same words."""

from __future__ import annotations

from django.utils.translation import gettext as _

from telephony.models import Server, Tenant


def licence_shortfall(tenant: Tenant, *, current: int, adding: int) -> str:
    """Why `adding` more users do not fit the tenant's licences (empty: they fit)."""
    if current + adding <= tenant.licences:
        return ""
    return _("%(tenant)s has %(licences)s licences and %(current)s users; there is no room for %(adding)s more.") % {
        "tenant": tenant,
        "licences": tenant.licences,
        "current": current,
        "adding": adding,
    }


def server_shortfall(server: Server, *, on_server: int, adding: int) -> str:
    """Why `adding` more lines do not fit the server (empty: they fit, or it has no limit)."""
    if server.capacity_users is None or on_server + adding <= server.capacity_users:
        return ""
    return _("Server %(server)s holds %(on_server)s of %(capacity)s lines; there is no room for %(adding)s more.") % {
        "server": server,
        "on_server": on_server,
        "capacity": server.capacity_users,
        "adding": adding,
    }
