"""The admin in a real browser: the pages that used to overflow fit a 1366×768 laptop screen (the
tenant page with its entity rows, the platforms list: long addresses and messages wrap instead), and
the platform form shows the fields of some kinds of platform only for those kinds."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = {"width": 1366, "height": 768}
# What is wider than the room it has: the page itself, or a box that scrolls sideways (the
# changelist's results, an inline's table) and hides its last columns.
OVERFLOWING = """[document.documentElement, ...document.querySelectorAll('#content div, #content fieldset')]
    .filter(box => box === document.documentElement || ["auto", "scroll"].includes(getComputedStyle(box).overflowX))
    .filter(box => box.scrollWidth > box.clientWidth + 1 && box.clientWidth > 0)
    .map(box => `${box.id || box.className || box.tagName}: ${box.scrollWidth} px in ${box.clientWidth}`)"""


def logged_in(live_server, browsing):
    from playwright.sync_api import expect

    from tests.factories import UserFactory

    UserFactory(username="root", is_superuser=True)
    page = browsing.new_page(LAPTOP)
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()
    return page


def test_the_tenant_page_and_the_platforms_list_fit_a_laptop_screen(live_server, transactional_db, browsing):
    from playwright.sync_api import expect

    from telephony.models import Platform
    from tenants.models import Organization, OrganizationKind
    from tests.factories import EntityFactory, PlatformFactory, ServerFactory, TenantFactory

    root = Organization.objects.add_root(
        instance=Organization(name="Northwind Communications", kind=OrganizationKind.DISTRIBUTOR)
    )
    customer = Organization.objects.add_child(
        root, instance=Organization(name="Acme Brick Company", kind=OrganizationKind.CUSTOMER)
    )
    for kind, url in [
        ("xcu", "https://xcu.northwind-communications.example.net:9001/api/1.0/"),
        ("xelion_pm", "https://parkmanager.northwind-communications.example.net/"),
        ("xc5", "https://xc5-xs.northwind-communications.example.net/api-sys/"),
    ]:
        platform = PlatformFactory(organization=root, kind=kind, base_url=url, name=f"Northwind {kind} production")
        Platform.objects.filter(pk=platform.pk).update(
            last_checked_at=timezone.now(),
            last_check_ok=False,
            last_check_message="Connection refused by the backend while checking the version: "
            "HTTPSConnectionPool(host='xcu.northwind-communications.example.net', port=9001) max retries",
        )
    tenant = TenantFactory(organization=customer, server=ServerFactory(platform=platform), name="acmebrick.x.co.nz")
    for index in range(3):
        EntityFactory(
            tenant=tenant,
            name=f"customer-service-department-{index}",
            display_name=f"Customer service department, second floor {index}",
            presented_number="+6491231200",
            intervals=[(f"{index}100", f"{index}199"), (f"{index}300", f"{index}399"), (f"{index}500", f"{index}599")],
        )
    page = logged_in(live_server, browsing)
    overflowing = {}
    for name, path in [
        ("tenant page", f"/admin/telephony/tenant/{tenant.pk}/change/"),
        ("platforms list", "/admin/telephony/platform/"),
    ]:
        page.goto(live_server.url + path)
        expect(page.locator("#content")).to_be_visible()
        overflowing[name] = page.evaluate(OVERFLOWING)
        browsing.screenshot(page, f"30-admin-laptop-{name.replace(' ', '-')}")
    assert overflowing == {"tenant page": [], "platforms list": []}
    assert browsing.console_errors == []


def test_the_platform_form_shows_the_fields_of_its_kind_only(live_server, transactional_db, browsing):
    from playwright.sync_api import expect

    from telephony.models import PlatformKind
    from tenants.models import Organization, OrganizationKind
    from tests.factories import PlatformFactory

    root = Organization.objects.add_root(instance=Organization(name="Northwind", kind=OrganizationKind.DISTRIBUTOR))
    platform = PlatformFactory(organization=root, kind=PlatformKind.XCU)
    page = logged_in(live_server, browsing)
    page.goto(live_server.url + f"/admin/telephony/platform/{platform.pk}/change/")
    app_key, user_space = page.locator(".field-new_app_key"), page.locator(".field-user_space")
    park_organization = page.locator(".field-acting_organization")
    expect(page.locator(".field-username")).to_be_visible()
    for row in (app_key, user_space, park_organization):
        expect(row).to_be_hidden()
    page.select_option("#id_kind", PlatformKind.XELION.value)
    expect(app_key).to_be_visible()
    expect(user_space).to_be_visible()
    expect(park_organization).to_be_hidden()
    page.select_option("#id_kind", PlatformKind.XELION_PM.value)
    expect(park_organization).to_be_visible()
    expect(user_space).to_be_hidden()
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
