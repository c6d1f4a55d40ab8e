from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = gettext_lazy("Portal")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from portal import two_factor
        from portal.middleware import remember_login_language
        from portal.selfservice import acting

        def note_enrolment(sender, request, user, **kwargs) -> None:
            two_factor.remember_enrolment(request=request, user=user)

        def note_language(sender, request, user, **kwargs) -> None:
            remember_login_language(request=request, user=user)

        user_logged_in.connect(note_enrolment, dispatch_uid="portal.two_factor.note_enrolment", weak=False)
        user_logged_in.connect(note_language, dispatch_uid="portal.middleware.note_language", weak=False)
        user_logged_out.connect(acting.end_on_sign_out, dispatch_uid="portal.selfservice.acting.end", weak=False)
