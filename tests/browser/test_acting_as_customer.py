"""Issue 16, part 3 in a real browser: a reseller administrator opens Acme Bricks' page in the admin,
acts as its administrator (a banner on every page, the admin and the password page closed), changes
a line, ends the session with a click; a second session runs out after 30 minutes (the stored start is
moved back, nothing waits); Acme's administrator then reads in its dashboard who acted as it and how
each session ended, and the line's history names the change "voxline.admin acting as …".
Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from telephony.models import PbxUser
from tenants.models import ActingEnd, ActingSession, Organization, Role
from tests.browser.conftest import Browsing, CustomerWorld
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BANNER = "[data-acting-banner]"


def sign_in_to_the_admin(page, base_url: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(base_url + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()


def start_acting(page, base_url: str, customer: Organization) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/tenants/organization/{customer.pk}/change/")
    page.get_by_role("link", name="Act as its administrator").click()
    expect(page.get_by_role("heading", name="Act as the administrator of Acme Bricks")).to_be_visible()
    page.get_by_role("button", name="Start acting as Acme Bricks").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_a_reseller_admin_acts_as_a_customer_openly_and_the_customer_sees_it(
    live_server, customer_world: CustomerWorld, browsing: Browsing
):
    from playwright.sync_api import expect

    acme = customer_world.tenant.organization
    voxline = Organization.objects.get(name="Voxline")
    reseller_admin = UserFactory(username="voxline.admin", is_staff=True)
    MembershipFactory(user=reseller_admin, organization=voxline, role=Role.ADMIN)
    base = live_server.url
    page = browsing.new_page()
    sign_in_to_the_admin(page, base, "voxline.admin")

    # -- acting: the banner on every page, a line changed, the closed pages ------------------------------
    start_acting(page, base, acme)
    banner = page.locator(BANNER)
    expect(banner).to_contain_text("voxline.admin")
    expect(banner).to_contain_text("acting as the administrator of Acme Bricks")
    browsing.screenshot(page, "40-acting-as-customer-dashboard")
    page.get_by_role("link", name="Users", exact=True).click()
    expect(banner).to_be_visible()
    page.get_by_role("link", name=re.compile("Alice")).first.click()
    expect(banner).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(banner).to_be_visible()
    page.get_by_label("First name").fill("Alicia")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("main")).to_contain_text("Alicia")
    expect(banner).to_be_visible()
    expect(page.get_by_role("link", name="Password")).to_have_count(0)

    for closed in ("/admin/", "/password/change/", f"/admin/auth/user/{customer_world.admin.pk}/password/"):
        page.goto(base + closed)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(page.locator("main")).to_contain_text("the admin, passwords, two-factor sign-in, logins")
    page.get_by_role("button", name="End acting as Acme Bricks").click()
    expect(page).to_have_url(re.compile(rf"/admin/tenants/organization/{acme.pk}/change/$"))
    expect(page.locator("body")).to_contain_text("You no longer act as the administrator of Acme Bricks")
    assert ActingSession.objects.get().end_reason == ActingEnd.CLICK

    # -- a second session runs out: its stored start moves back 31 minutes ----------------------------------
    start_acting(page, base, acme)
    session = ActingSession.objects.get(ended_at__isnull=True)
    ActingSession.objects.filter(pk=session.pk).update(started_at=session.started_at - timedelta(minutes=31))
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/admin/tenants/organization/{acme.pk}/change/$"))
    expect(page.locator("body")).to_contain_text("it lasts at most 30 minutes")
    session.refresh_from_db()
    assert session.end_reason == ActingEnd.TIMEOUT

    # -- the customer's administrator reads who acted as it ------------------------------------------------
    customer_page = browsing.new_page()
    customer_page.goto(base + "/login/")
    customer_page.get_by_label("Username").fill("acme.admin")
    customer_page.get_by_label("Password").fill(PASSWORD)
    customer_page.get_by_role("button", name="Sign in").click()
    history = customer_page.get_by_role("region", name="Staff who acted as your administrator")
    expect(history).to_contain_text("voxline.admin · acted as your administrator")
    expect(history).to_contain_text("How it ended: ended by a click")
    expect(history).to_contain_text("How it ended: time limit reached")
    expect(customer_page.locator(BANNER)).to_have_count(0)
    browsing.screenshot(customer_page, "41-customer-sees-who-acted-as-it")
    line = PbxUser.objects.get(pk=customer_world.line.pk)
    customer_page.goto(f"{base}/users/{line.pk}/")
    expect(customer_page.locator("#history-title + ul")).to_contain_text(
        "voxline.admin acting as administrator of Acme Bricks"
    )
    assert line.first_name == "Alicia"
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
