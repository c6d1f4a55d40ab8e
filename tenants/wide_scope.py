"""Does a login see a large part of the tree? On SQLite, a list read in its key's order a page at a
time (the REST API's cursor pages) is then faster checking each row it walks for the scope than
gathering the scope's rows through an index and sorting them all: a reseller's filtered numbers at
100,000 users, 0.7 against 2.9 ms (`access.reaching`'s `row_by_row`). SQLite keeps no statistics
that would let it weigh this itself; PostgreSQL does, and is never asked."""

from __future__ import annotations

from typing import Any

from django.db import connection

from tenants import access
from tenants.models import Organization

# A login that sees at least one organization in WIDE_SHARE has a wide scope. At a quarter, a page of
# numbers one in thirty of which a filter keeps costs about the same read either way.
WIDE_SHARE = 4

_CACHE_ATTRIBUTE = "_access_wide_scope"


def sees_much(user: Any) -> bool:
    """Whether the login's scope is wide enough to be checked row by row (SQLite only; two counts
    of organizations, then cached on the login object for the request)."""
    if connection.vendor != "sqlite" or not getattr(user, "is_authenticated", False) or user.is_superuser:
        return False
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        seen = access.visible_organizations(user).count()
        cached = seen > 0 and seen * WIDE_SHARE >= Organization.objects.count()
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached
