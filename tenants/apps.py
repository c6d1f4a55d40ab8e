from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = gettext_lazy("Organizations and access")

    def ready(self) -> None:
        from tenants.audit_display import register
        from tenants.models import ActingSession, Membership, Organization

        # The tree's path, depth and child count are treebeard's bookkeeping, not changes anyone made.
        register(Organization, exclude_fields=["path", "numchild", "depth", "created_at"])
        register(Membership, exclude_fields=["created_at"], mapping_fields={"user": gettext_lazy("login")})
        register(
            ActingSession,
            mapping_fields={
                "actor": gettext_lazy("login"),
                "actor_name": gettext_lazy("who"),
                "organization": gettext_lazy("as administrator of"),
                "started_at": gettext_lazy("from"),
                "ended_at": gettext_lazy("until"),
                "end_reason": gettext_lazy("how it ended"),
            },
        )
