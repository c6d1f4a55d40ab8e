from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from tenants.models import Membership, Organization

        auditlog.register(Organization, exclude_fields=["numchild", "depth", "created_at"])
        auditlog.register(Membership, exclude_fields=["created_at"])
