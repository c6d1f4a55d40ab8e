"""Two-factor sign-in for staff: enrolment with a QR code and backup codes, enforced on every
admin URL for superusers and organization administrators when PORTAL_REQUIRE_2FA is on."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import Role

pytestmark = pytest.mark.django_db

ADMIN_URLS = [
    "/admin/",
    "/admin/telephony/pbxuser/",
    "/admin/telephony/platform/",
    "/admin/tenants/organization/",
    "/admin/dashboard/",
    "/admin/2fa/backup-codes/",
]


@pytest.fixture(autouse=True)
def required(settings):
    settings.PORTAL_REQUIRE_2FA = True


def current_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or a step later: a code is accepted only once)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def enrol(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("two_factor_setup"))
    assert "data:image/svg+xml;base64," in page.content.decode(), "a QR code is shown"
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": current_code(device)})
    return device, response.context["codes"]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_administrators_must_enrol_before_any_admin_page(tree, member, client, url):
    client.force_login(member(tree.reseller, Role.ADMIN))
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_setup"))


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_superusers_must_verify_once_per_session(client, superuser, url):
    client.force_login(superuser)
    device, _codes = enrol(client)
    client.logout()
    client.force_login(superuser)
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_verify"))
    verified = client.post(reverse("two_factor_verify") + f"?next={url}", {"code": current_code(device, steps_ahead=1)})
    assert verified.status_code == 302 and verified.url == url
    assert client.get("/admin/telephony/pbxuser/").status_code == 200


def test_enrolment_gives_backup_codes_that_work_once(client, superuser):
    client.force_login(superuser)
    _device, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    client.logout()
    client.force_login(superuser)
    assert client.post(reverse("two_factor_verify"), {"code": codes[0]}).status_code == 302
    client.logout()
    client.force_login(superuser)
    again = client.post(reverse("two_factor_verify"), {"code": codes[0]})
    assert again.status_code == 200 and "already used" in again.content.decode()


def test_a_wrong_code_is_refused_with_a_message(client, superuser):
    client.force_login(superuser)
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"code": "000000"})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_a_stolen_password_cannot_replace_the_authenticator(client, superuser):
    client.force_login(superuser)
    enrol(client)
    client.logout()
    client.force_login(superuser)
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_verify"))


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_operators_and_viewers_are_not_asked(tree, member, client, role):
    client.force_login(member(tree.reseller, role))
    assert client.get("/admin/telephony/pbxuser/").status_code == 200


def test_off_when_the_setting_is_off(tree, member, client, settings):
    settings.PORTAL_REQUIRE_2FA = False
    client.force_login(member(tree.reseller, Role.ADMIN))
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(("enforced", "wording"), [(True, "Your role requires"), (False, "not required for your")])
def test_the_setup_page_says_whether_two_factor_sign_in_is_required(tree, member, client, settings, enforced, wording):
    settings.PORTAL_REQUIRE_2FA = enforced
    client.force_login(member(tree.reseller, Role.ADMIN))
    page = client.get(reverse("two_factor_setup")).content.decode()
    assert wording in page
    assert ("Your role requires" in page) == enforced


@pytest.mark.parametrize("setting", [True, False])
def test_a_login_that_set_it_up_is_asked_for_a_code_even_when_not_required(tree, member, client, settings, setting):
    settings.PORTAL_REQUIRE_2FA = setting
    operator = member(tree.reseller, Role.OPERATOR)
    client.force_login(operator)
    device, _codes = enrol(client)
    assert client.get("/admin/telephony/pbxuser/").status_code == 200, "verified by the enrolment itself"
    client.logout()
    client.force_login(operator)
    asked = client.get("/admin/telephony/pbxuser/")
    assert asked.status_code == 302 and asked.url.startswith(reverse("two_factor_verify"))
    verified = client.post(asked.url, {"code": current_code(device, steps_ahead=1)})
    assert verified.status_code == 302 and client.get("/admin/telephony/pbxuser/").status_code == 200
