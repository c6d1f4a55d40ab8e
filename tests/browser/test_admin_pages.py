"""The staff admin in a real browser under the content security policy: the pages staff use most
load without a script error or a policy violation (the admin has no inline code either)."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from tests.worlds import build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [
    "/admin/",
    "/admin/dashboard/",
    "/admin/tenants/organization/",
    "/admin/telephony/tenant/{tenant}/change/",
    "/admin/telephony/pbxuser/{user}/change/",
    "/admin/telephony/pbxuser/add/",
    "/admin/telephony/entity/{entity}/change/",
    "/admin/telephony/platform/{platform}/change/",
    "/admin/telephony/provisioningjob/",
    "/admin/auditlog/logentry/",
    "/admin/2fa/setup/",
]


def test_admin_pages_work_under_the_content_security_policy(live_server, transactional_db, browsing):
    from playwright.sync_api import expect

    from telephony.models import Entity, PbxUser, Platform, Tenant
    from tenants.models import Organization, OrganizationKind
    from tests.factories import UserFactory

    root = Organization.objects.add_root(instance=Organization(name="Distributor", kind=OrganizationKind.DISTRIBUTOR))
    customer = Organization.objects.add_child(
        root, instance=Organization(name="Customer", kind=OrganizationKind.CUSTOMER)
    )
    world = build_world(root, customer)
    UserFactory(username="root", is_superuser=True)
    ids = {
        "tenant": world[Tenant].pk,
        "user": world[PbxUser].pk,
        "entity": world[Entity].pk,
        "platform": world[Platform].pk,
    }
    page = browsing.new_page()
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()
    for path in PAGES:
        page.goto(live_server.url + path.format(**ids))
        expect(page.locator("#content")).to_be_visible()
    browsing.screenshot(page, "20-admin-two-factor-setup")
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
