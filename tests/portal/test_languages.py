"""Issue 16, part 7: the portal speaks English, Dutch and French. The language follows the browser,
unless the login chose its own (which follows it to another browser); a visitor's choice is a cookie.
A session acting as a customer changes no login setting; a bad choice changes nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from tenants.models import LoginSettings, Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SIGN_OUT = "Sign out"  # the self-service menu's, on every page of a signed-in login


def said_in(language: str, english: str) -> str:
    with translation.override(language):
        return translation.gettext(english)


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_catalogs_speak_each_language(language):
    assert said_in(language, SIGN_OUT) != SIGN_OUT
    assert said_in(language, "Users") != "Users"


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_sign_in_page_follows_the_browser(client, language):
    page = client.get(reverse("selfservice:login"), HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    assert page["Content-Language"] == language
    assert f'<html lang="{language}">' in page.content.decode()
    assert said_in(language, "Sign in") in page.content.decode()


def test_a_login_s_own_choice_wins_over_the_browser_and_follows_it(client, customer):
    LoginSettings.objects.create(user=customer.admin, language="fr")
    client.force_login(customer.admin)
    page = client.get(reverse("selfservice:dashboard"), HTTP_ACCEPT_LANGUAGE="nl")
    assert page["Content-Language"] == "fr"
    assert said_in("fr", SIGN_OUT) in page.content.decode()


def test_a_login_chooses_its_language_from_the_menu(admin_client, customer):
    answer = admin_client.post(reverse("choose_language"), {"language": "nl", "next": reverse("selfservice:user_list")})
    assert answer.status_code == 302 and answer["Location"] == reverse("selfservice:user_list")
    assert LoginSettings.objects.get(user=customer.admin).language == "nl"
    page = admin_client.get(reverse("selfservice:user_list"))
    assert page["Content-Language"] == "nl" and said_in("nl", SIGN_OUT) in page.content.decode()

    admin_client.post(reverse("choose_language"), {"language": "", "next": "/"})  # back to the browser's
    assert LoginSettings.objects.get(user=customer.admin).language == ""
    assert admin_client.get(reverse("selfservice:user_list"), HTTP_ACCEPT_LANGUAGE="fr")["Content-Language"] == "fr"


def test_the_choice_is_kept_for_the_next_sign_in(client, customer):
    LoginSettings.objects.create(user=customer.admin, language="nl")
    answer = client.post(reverse("selfservice:login"), {"username": customer.admin.username, "password": PASSWORD})
    assert answer.status_code == 302
    assert client.get(reverse("selfservice:dashboard"))["Content-Language"] == "nl"


def test_a_visitor_s_choice_is_a_cookie(client):
    answer = client.post(reverse("choose_language"), {"language": "fr", "next": reverse("selfservice:login")})
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert client.get(reverse("selfservice:login"))["Content-Language"] == "fr"
    assert not LoginSettings.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{"language": "de"}, {"language": "<img src=x onerror=alert(1)>"}, {"language": "{{ secret }}"}],
    ids=["unoffered", "html", "template"],
)
def test_a_language_not_offered_changes_nothing(admin_client, customer, data):
    answer = admin_client.post(reverse("choose_language"), data)
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert not LoginSettings.objects.exists()
    assert settings.LANGUAGE_COOKIE_NAME not in answer.cookies


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_the_menu_never_sends_anyone_elsewhere(client, target):
    answer = client.post(reverse("choose_language"), {"language": "nl", "next": target})
    assert answer["Location"] == "/"


def test_the_menu_takes_no_get(client):
    assert client.get(reverse("choose_language"), {"language": "nl"}).status_code == 405


def test_acting_as_a_customer_changes_no_login_setting(client, tree, member, customer):
    reseller_admin = member(tree.reseller, Role.ADMIN, username="res.admin", password=PASSWORD)
    client.force_login(reseller_admin)
    assert client.post(reverse("selfservice:acting_start", args=[customer.organization.pk])).status_code == 302
    client.post(reverse("choose_language"), {"language": "fr", "next": "/"})
    assert not LoginSettings.objects.exists(), "neither the actor's nor the customer's"
    assert client.get(reverse("selfservice:dashboard"))["Content-Language"] == "fr"  # this session only


def test_the_admin_speaks_the_login_s_language(client, superuser):
    LoginSettings.objects.create(user=superuser, language="nl")
    client.force_login(superuser)
    page = client.get(reverse("admin:index"))
    assert page["Content-Language"] == "nl"
    assert 'name="language"' in page.content.decode()  # the menu is in the user tools


def test_a_password_reset_mail_speaks_the_recipient_s_language(client, customer, mailoutbox):
    LoginSettings.objects.create(user=customer.admin, language="nl")
    customer.admin.email = "admin@acme.example"
    customer.admin.save(update_fields=["email"])
    client.post(reverse("selfservice:password_reset"), {"email": "admin@acme.example"}, HTTP_ACCEPT_LANGUAGE="fr")
    (mail,) = mailoutbox
    with translation.override("nl"):
        expected = translation.gettext("Choose a new password for the PBX self-service site")
    assert expected != "Choose a new password for the PBX self-service site" and mail.subject == expected
