from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"
    verbose_name = "Telephony"

    def ready(self) -> None:
        from django.conf import settings

        from telephony.backends import guard

        guard.configure(
            guard.AddressPolicy.from_strings(
                settings.PBX_ALLOWED_NETWORKS, allow_plain_http=settings.PBX_ALLOW_PLAIN_HTTP
            )
        )
