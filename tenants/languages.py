"""The language a login is spoken to in: its own choice (`LoginSettings`), else the browser's
(Django's `LocaleMiddleware`), else `settings.LANGUAGE_CODE`. E-mails and the work a worker does
for a login (an import's checks) use the login's choice, since no browser is there to ask."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tenants.models import LoginSettings

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def chosen_language(user: Any) -> str:
    """The login's own choice, or "" when it follows its browser."""
    if user is None or not getattr(user, "pk", None):
        return ""
    language = LoginSettings.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return language if language in SUPPORTED else ""


def language_for(user: Any) -> str:
    """What to write to this login in when no browser asks: e-mails, a worker's messages."""
    return chosen_language(user) or settings.LANGUAGE_CODE


def login_language_set(*, user: Any, language: str) -> str:
    """The login chooses its language ("" to follow the browser). Only the login itself chooses,
    so there is no actor other than the user."""
    if language and language not in SUPPORTED:
        raise ValidationError({"language": _("Choose one of the languages offered.")})
    LoginSettings.objects.update_or_create(user=user, defaults={"language": language})
    return language
