"""The language menu of both sites: a signed-in login's choice is kept with the login (it follows
it to another browser, and its e-mails are written in it); a visitor's is kept in a cookie."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.middleware import LOGIN_LANGUAGE_SESSION_KEY
from portal.selfservice import acting
from tenants.languages import login_language_set


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        choices=[("", gettext_lazy("As my browser says")), *settings.LANGUAGES],
    )


def back_to(request: HttpRequest) -> str:
    """The page the menu was used on, if it is one of ours; else the home page."""
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
        return wanted
    return "/"


@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect(back_to(request))
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the languages offered."))
        return response
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        if acting.current(request) is None:  # a session acting as a customer changes no login setting
            login_language_set(user=request.user, language=language)
        request.session[LOGIN_LANGUAGE_SESSION_KEY] = language
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 60 * 60,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        translation.activate(language)
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, samesite="Lax")
    return response


def language_menu(request: HttpRequest) -> dict[str, str]:
    """What the language menu shows as chosen: the login's own choice, the visitor's cookie, or
    "" (as the browser says)."""
    session = getattr(request, "session", None)
    chosen = session.get(LOGIN_LANGUAGE_SESSION_KEY) if session is not None else None
    if chosen is None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return {"language_chosen": chosen if chosen in dict(settings.LANGUAGES) else ""}
