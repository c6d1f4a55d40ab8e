"""Two-factor sign-in in a real browser: a customer administrator, on the self-service site, is sent
to enrol before the dashboard, sees the QR code render under the content security policy, types the
authenticator's code, gets backup codes, and lands on the page asked for."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import Browsing, CustomerWorld
from tests.factories import PASSWORD
from tests.portal.test_two_factor import current_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_customer_administrator_enrols_and_signs_in_with_a_code(
    live_server, customer_world: CustomerWorld, browsing: Browsing, settings
):
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from playwright.sync_api import expect

    settings.PORTAL_REQUIRE_2FA = True
    page = browsing.new_page()
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("acme.admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    qr_code = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr_code).to_be_visible()
    assert qr_code.evaluate("image => image.naturalWidth") > 0, "the QR code renders under the policy"
    browsing.screenshot(page, "30-selfservice-two-factor-setup")

    device = TOTPDevice.objects.get(user=customer_world.admin, confirmed=False)
    page.get_by_label("Code").fill(current_code(device))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Backup codes")).to_be_visible()
    expect(page.locator(".backup-codes code")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("acme.admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_label("Code").fill("123")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    time.sleep(1.1)  # after a wrong code django-otp checks the next one only a second later
    page.get_by_label("Code").fill(current_code(device, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
