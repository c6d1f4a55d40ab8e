from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"
    verbose_name = "Telephony"

    def ready(self) -> None:
        from django.conf import settings

        from telephony.backends import guard

        _register_audited_models()
        guard.configure(
            guard.AddressPolicy.from_strings(
                settings.PBX_ALLOWED_NETWORKS, allow_plain_http=settings.PBX_ALLOW_PLAIN_HTTP
            )
        )


MIRROR_BOOKKEEPING = ["sync_state", "sync_message", "created_at", "updated_at"]


def _register_audited_models() -> None:
    """Every mirrored object and every platform is audited; secrets are masked (never logged)."""
    from auditlog.registry import auditlog

    from telephony import models

    auditlog.register(
        models.Platform,
        exclude_fields=["last_checked_at", "last_check_ok", "last_check_message", "created_at", "updated_at"],
        mask_fields=["secret", "app_key"],
    )
    auditlog.register(models.Server, exclude_fields=["remaining_slots", "created_at"])
    auditlog.register(models.Tenant, exclude_fields=MIRROR_BOOKKEEPING)
    auditlog.register(models.Entity, exclude_fields=MIRROR_BOOKKEEPING, m2m_fields={"administrators"})
    auditlog.register(models.NumberInterval)
    auditlog.register(models.LineTemplate, exclude_fields=MIRROR_BOOKKEEPING)
    auditlog.register(models.PbxUser, exclude_fields=MIRROR_BOOKKEEPING, mask_fields=["voicemail_pin"])
    auditlog.register(models.PhoneNumber, exclude_fields=MIRROR_BOOKKEEPING)
