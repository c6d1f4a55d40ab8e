from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from portal import two_factor

        def note_enrolment(sender, request, user, **kwargs) -> None:
            two_factor.remember_enrolment(request=request, user=user)

        user_logged_in.connect(note_enrolment, dispatch_uid="portal.two_factor.note_enrolment", weak=False)
