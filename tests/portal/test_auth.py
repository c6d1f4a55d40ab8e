"""The site's own login at `/`, logout, password reset by e-mail and idle session expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("selfservice:login")


def test_the_root_leads_visitors_to_the_sites_own_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    page = client.get(LOGIN)
    assert page.status_code == 200 and b"Forgot your password?" in page.content


@pytest.mark.parametrize(
    ("who", "lands_on"),
    [("admin", "selfservice:dashboard"), ("end_user", "selfservice:my_line")],
)
def test_customer_administrators_and_end_users_log_in_to_their_start_page(client, customer, who, lands_on):
    login = getattr(customer, who)
    response = client.post(LOGIN, {"username": login.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(lands_on)
    assert response.status_code == 200


def test_a_wrong_password_says_so_and_logs_nobody_in(client, customer):
    response = client.post(LOGIN, {"username": customer.admin.username, "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logging_in_again_gets_a_new_session(client, customer):
    client.get(LOGIN)
    client.post(LOGIN, {"username": customer.admin.username, "password": PASSWORD})
    first = client.session.session_key
    client.post(reverse("selfservice:logout"))
    client.post(LOGIN, {"username": customer.admin.username, "password": PASSWORD})
    assert client.session.session_key != first


def test_staff_without_a_customer_are_sent_to_the_admin(client, tree, member):
    staff = member(tree.reseller)
    client.force_login(staff)
    assert client.get("/")["Location"] == reverse("admin:index")


def test_a_login_with_nothing_to_manage_is_told_so(client, db):
    nobody = UserFactory(is_staff=False)
    client.force_login(nobody)
    assert b"Nothing to manage here yet" in client.get("/").content


def test_logout_is_a_post_and_ends_the_session(admin_client):
    assert admin_client.get(reverse("selfservice:logout")).status_code == 405
    response = admin_client.post(reverse("selfservice:logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert admin_client.get(reverse("selfservice:dashboard")).status_code == 302


def test_password_reset_mails_a_link_that_sets_a_new_password(client, customer):
    response = client.post(reverse("selfservice:password_reset"), {"email": customer.admin.email})
    assert response.status_code == 302 and response["Location"] == reverse("selfservice:password_reset_done")
    (message,) = mail.outbox
    assert message.to == [customer.admin.email]
    link = re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase 7", "new_password2": "a brand new passphrase 7"},
    )
    assert done["Location"] == reverse("selfservice:password_reset_complete")
    assert client.login(username=customer.admin.username, password="a brand new passphrase 7")


def test_password_reset_for_an_unknown_address_sends_nothing_and_tells_nothing(client, db):
    response = client.post(reverse("selfservice:password_reset"), {"email": "nobody@example.net"})
    assert response["Location"] == reverse("selfservice:password_reset_done")
    assert mail.outbox == []


def test_development_prints_password_reset_mails_on_the_console():
    from tests.test_project import run_manage

    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.EMAIL_BACKEND)", DJANGO_DEBUG="true"
    )
    assert result.stdout.strip().splitlines()[-1] == "django.core.mail.backends.console.EmailBackend"


def test_a_session_idle_for_longer_than_its_age_is_over(admin_client):
    assert settings.SESSION_SAVE_EVERY_REQUEST, "every request renews the session: the age is an idle time"
    assert admin_client.get(reverse("selfservice:dashboard")).status_code == 200
    assert admin_client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = admin_client.get(reverse("selfservice:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_password_can_be_changed_when_logged_in(admin_client, customer):
    response = admin_client.post(
        reverse("selfservice:password_change"),
        {"old_password": PASSWORD, "new_password1": "another passphrase 9", "new_password2": "another passphrase 9"},
    )
    assert response["Location"] == reverse("selfservice:password_change_done")
    customer.admin.refresh_from_db()
    assert customer.admin.check_password("another passphrase 9")
