"""The onboarding mail (the new administrator's set-password link) is written in the language the
login chose, since no browser is there to ask; without a choice, in the portal's own language."""

from __future__ import annotations

import pytest
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.utils import translation

from telephony.services.onboarding import mail_set_password_link
from tenants.models import LoginSettings

pytestmark = pytest.mark.django_db

ENGLISH_SUBJECT = "Your login to the PBX self-service site"


@pytest.fixture
def administrator():
    return get_user_model().objects.create_user(username="boss", email="boss@new.example", password="x" * 20)


@pytest.fixture
def languages_at_render(monkeypatch):
    """The language active while each template of the mail is rendered."""
    seen: list[tuple[str, str]] = []
    render = auth_forms.loader.render_to_string

    def recording(template_name, context=None, *args, **kwargs):
        seen.append((template_name, translation.get_language()))
        return render(template_name, context, *args, **kwargs)

    monkeypatch.setattr(auth_forms.loader, "render_to_string", recording)
    return seen


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_mail_is_rendered_in_the_language_the_login_chose(administrator, languages_at_render, mailoutbox, language):
    LoginSettings.objects.create(user=administrator, language=language)
    with translation.override("en"):  # the request of the staff member who onboards, in English
        mail_set_password_link(administrator)
        assert translation.get_language() == "en"  # the override ends with the mail
    assert len(mailoutbox) == 1
    assert {name for name, _ in languages_at_render} == {
        "admin/telephony/onboarding/set_password_subject.txt",
        "admin/telephony/onboarding/set_password_email.txt",
    }
    assert {active for _, active in languages_at_render} == {language}


def test_without_a_choice_the_mail_is_in_the_portals_language(administrator, languages_at_render, mailoutbox):
    with translation.override("fr"):
        mail_set_password_link(administrator)
    assert {active for _, active in languages_at_render} == {"en"}
    assert mailoutbox[0].subject == ENGLISH_SUBJECT


def test_a_dutch_login_gets_a_dutch_subject(administrator, mailoutbox):
    LoginSettings.objects.create(user=administrator, language="nl")
    mail_set_password_link(administrator)
    assert mailoutbox[0].subject != ENGLISH_SUBJECT
    with translation.override("nl"):
        assert mailoutbox[0].subject == translation.gettext(ENGLISH_SUBJECT)
