from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        from tenants.audit_display import register
        from tenants.models import ActingSession, Membership, Organization

        # The tree's path, depth and child count are treebeard's bookkeeping, not changes anyone made.
        register(Organization, exclude_fields=["path", "numchild", "depth", "created_at"])
        register(Membership, exclude_fields=["created_at"], mapping_fields={"user": "login"})
        register(
            ActingSession,
            mapping_fields={
                "actor": "login",
                "actor_name": "who",
                "organization": "as administrator of",
                "started_at": "from",
                "ended_at": "until",
                "end_reason": "how it ended",
            },
        )
