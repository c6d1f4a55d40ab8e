"""Staff admin for the PBX mirror; every class is scoped by `tenants.access` and writes through services."""

from telephony.admin import (  # noqa: F401
    configurator,
    configurator_orders,
    cti,
    drift,
    imports,
    jobs,
    numbers,
    platforms,
    templates,
    tenants,
    users,
)
