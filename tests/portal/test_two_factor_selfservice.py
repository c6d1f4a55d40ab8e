"""Two-factor sign-in on the self-service site: a customer's administrators hold the keys to their
phone system too, so with PORTAL_REQUIRE_2FA on they enrol and verify on the site they use, before
any of its pages or form actions; end users, who manage only their own line, are not asked."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from telephony.models import PbxUser
from tests.portal.routes import customer_admin_routes
from tests.portal.test_two_factor import current_code

pytestmark = pytest.mark.django_db

SETUP = "selfservice:two_factor_setup"
VERIFY = "selfservice:two_factor_verify"


@pytest.fixture(autouse=True)
def required(settings):
    settings.PORTAL_REQUIRE_2FA = True


def enrol(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse(SETUP))
    assert page.status_code == 200 and "data:image/svg+xml;base64," in page.content.decode()
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse(SETUP), {"code": current_code(device)})
    assert response.status_code == 200
    return device, response.context["codes"]


def test_every_page_and_form_action_of_a_customer_administrator_waits_for_enrolment(admin_client, customer):
    users_before = PbxUser.objects.count()
    for route in customer_admin_routes(customer):
        response = route.call(admin_client)
        assert response.status_code == 302, route
        assert response.url.startswith(reverse(SETUP)), route
    assert PbxUser.objects.count() == users_before, "no form action went through"
    assert PbxUser.objects.get(pk=customer.line.pk).voicemail_pin == "97531", "the PIN was not reset"


def test_signing_in_asks_for_the_code_then_returns_to_the_page_asked_for(client, customer):
    customer.admin.set_password("correct horse battery")
    customer.admin.save()
    client.force_login(customer.admin)
    device, _codes = enrol(client)
    assert client.get(reverse("selfservice:dashboard")).status_code == 200
    client.post(reverse("selfservice:logout"))

    signed_in = client.post(
        reverse("selfservice:login") + "?next=/users/",
        {"username": customer.admin.username, "password": "correct horse battery"},
    )
    asked = client.get(signed_in.url)
    assert asked.status_code == 302 and asked.url.startswith(reverse(VERIFY))
    page = client.get(asked.url)
    assert page.status_code == 200 and "authenticator app" in page.content.decode()
    verified = client.post(asked.url, {"code": current_code(device, steps_ahead=1)})
    assert verified.status_code == 302 and verified.url == "/users/"
    assert client.get("/users/").status_code == 200


def test_a_wrong_code_is_refused_next_to_the_field(admin_client):
    admin_client.get(reverse(SETUP))
    response = admin_client.post(reverse(SETUP), {"code": "000000"})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert "is-invalid" in response.content.decode(), "the message stands next to the field"
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_backup_codes_sign_in_once_each_and_can_be_renewed_only_when_verified(client, customer):
    client.force_login(customer.admin)
    _device, codes = enrol(client)
    renewed = client.post(reverse("selfservice:two_factor_backup_codes"))
    assert renewed.status_code == 200 and set(renewed.context["codes"]).isdisjoint(codes)
    codes = renewed.context["codes"]

    client.logout()
    client.force_login(customer.admin)
    stolen = client.post(reverse("selfservice:two_factor_backup_codes"))
    assert stolen.status_code == 302 and stolen.url.startswith(reverse(VERIFY))
    assert client.post(reverse(VERIFY), {"code": codes[0]}).status_code == 302
    client.logout()
    client.force_login(customer.admin)
    again = client.post(reverse(VERIFY), {"code": codes[0]})
    assert again.status_code == 200 and "already used" in again.content.decode()


def test_a_stolen_password_cannot_replace_the_authenticator(client, customer):
    client.force_login(customer.admin)
    enrol(client)
    client.logout()
    client.force_login(customer.admin)
    response = client.get(reverse(SETUP))
    assert response.status_code == 302 and response.url.startswith(reverse(VERIFY))


def test_signing_in_and_getting_a_password_back_need_no_code(client, customer):
    for url in (reverse("selfservice:login"), reverse("selfservice:password_reset")):
        assert client.get(url).status_code == 200
    client.force_login(customer.admin)
    assert client.get(reverse("selfservice:password_reset")).status_code == 200
    assert client.post(reverse("selfservice:logout")).status_code == 302


def test_end_users_are_not_asked_and_have_no_two_factor_pages(end_user_client):
    assert end_user_client.get(reverse("selfservice:my_line")).status_code == 200
    assert end_user_client.get(reverse(SETUP)).status_code == 404
    assert end_user_client.get(reverse(VERIFY)).status_code == 404


def test_the_menu_offers_two_factor_sign_in_to_administrators_only(client, customer):
    client.force_login(customer.admin)
    enrol(client)
    assert reverse(SETUP) in client.get(reverse("selfservice:dashboard")).content.decode()
    client.force_login(customer.end_user)
    assert reverse(SETUP) not in client.get(reverse("selfservice:my_line")).content.decode()


def test_a_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse(SETUP))
    assert response.status_code == 302 and response.url.startswith(reverse("selfservice:login"))


def test_off_when_the_setting_is_off(admin_client, settings):
    settings.PORTAL_REQUIRE_2FA = False
    assert admin_client.get(reverse("selfservice:dashboard")).status_code == 200
    assert admin_client.get(reverse(SETUP)).status_code == 404


def test_after_wrong_codes_the_next_one_waits_and_the_page_says_how_long(client, customer):
    client.force_login(customer.admin)
    device, _codes = enrol(client)
    client.logout()
    client.force_login(customer.admin)
    device.refresh_from_db()
    device.throttling_failure_count = 3
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    for static in customer.admin.staticdevice_set.all():
        static.throttling_failure_count = 3
        static.throttling_failure_timestamp = timezone.now()
        static.save()

    response = client.post(reverse(VERIFY), {"code": current_code(device, steps_ahead=1)})
    page = response.content.decode()
    assert response.status_code == 200 and "Too many wrong codes in a row: wait" in page
    assert client.get(reverse("selfservice:dashboard")).url.startswith(reverse(VERIFY)), "still not signed in"
