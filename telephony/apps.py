from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class TelephonyConfig(AppConfig):
    name = "telephony"
    verbose_name = gettext_lazy("Telephony")

    def ready(self) -> None:
        from django.conf import settings

        from telephony import queue, tasks
        from telephony.backends import guard

        queue.register(tasks.send)
        _register_audited_models()
        guard.configure(
            guard.AddressPolicy.from_strings(
                settings.PBX_ALLOWED_NETWORKS, allow_plain_http=settings.PBX_ALLOW_PLAIN_HTTP
            ),
            webhooks=guard.AddressPolicy.from_strings(
                settings.WEBHOOK_ALLOWED_NETWORKS,
                allow_plain_http=settings.WEBHOOK_ALLOW_PLAIN_HTTP,
                setting="WEBHOOK_ALLOWED_NETWORKS",
            ),
        )


MIRROR_BOOKKEEPING = ["sync_state", "sync_message", "created_at", "updated_at"]
CTI_SECRETS = ("client_secret", "refresh_token", "device_code")


def _backend_identities(model) -> list[str]:
    """The fields of `model` that say how a backend addresses the object: shown to staff only."""
    return [field.name for field in model._meta.concrete_fields if field.name == "backend_ref"]


def _register_audited_models() -> None:
    """Every mirrored object and every platform is audited; secrets are masked (never logged)."""
    from telephony import models
    from tenants.audit_display import register

    def audited(model, **options) -> None:
        register(model, staff_only=_backend_identities(model), **options)

    audited(
        models.Platform,
        exclude_fields=["last_checked_at", "last_check_ok", "last_check_message", "created_at", "updated_at"],
        mask_fields=["secret", "app_key"],
    )
    audited(models.Server, exclude_fields=["remaining_slots", "created_at"])
    audited(models.Tenant, exclude_fields=MIRROR_BOOKKEEPING)
    audited(models.Entity, exclude_fields=MIRROR_BOOKKEEPING, m2m_fields={"administrators"})
    audited(models.NumberInterval)
    audited(models.LineTemplate, exclude_fields=MIRROR_BOOKKEEPING)
    audited(
        models.PbxUser,
        exclude_fields=MIRROR_BOOKKEEPING,
        mask_fields=["voicemail_pin"],
        mapping_fields={"portal_user": "portal login", "voicemail_pin": "voicemail PIN"},
    )
    audited(models.PhoneNumber, exclude_fields=MIRROR_BOOKKEEPING)
    audited(models.CtiService, exclude_fields=["created_at"])
    audited(
        models.CrmIntegration,
        exclude_fields=[*MIRROR_BOOKKEEPING, "removal_requested"],
        mask_fields=["admin_password", "default_client_secret"],
    )
    audited(models.CrmEventMapping)
    audited(models.CtiUserCredentials, exclude_fields=MIRROR_BOOKKEEPING, mask_fields=list(CTI_SECRETS))
    audited(models.ConfiguratorLink, exclude_fields=MIRROR_BOOKKEEPING, mask_fields=["api_key"])
    audited(models.ConfiguratorCredential, exclude_fields=MIRROR_BOOKKEEPING, mask_fields=["value"])
    audited(
        models.WebhookEndpoint,
        exclude_fields=["created_at", "updated_at", "previous_secret_expires_at"],
        mask_fields=["secret", "previous_secret"],
    )
    audited(models.ConfiguratorOrder, exclude_fields=[*MIRROR_BOOKKEEPING, "callback_secret", "status_changed_at"])
