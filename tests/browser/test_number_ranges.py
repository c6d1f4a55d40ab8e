"""Issue 16, parts 1 and 8, in a real browser: a reseller administrator adds a DDI range to its pool in
one step, is told which number clashes when a second range overlaps it, allocates a count of free
numbers to a customer's tenant, reads each pool's use above the numbers list, then assigns two of them
to a line from the line's admin page, watches them reach the XC5 sandbox (with the pilot flag as the
portal holds it), releases one there, and sees the line's numbers in the users list.
Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from telephony.models import JobStatus, PhoneNumber, ProvisioningJob
from tenants.models import Organization, Role
from tests.browser.conftest import TENANT_NAME, Browsing, CustomerWorld, XC5Sandbox
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.telephony.provisioning.workers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def all_jobs_succeeded() -> bool:
    statuses = set(ProvisioningJob.objects.values_list("status", flat=True))
    return statuses == {JobStatus.SUCCEEDED}


def numbers_on_xc5(sandbox: XC5Sandbox, username: str) -> dict[str, bool]:
    """The numbers the line's XC5 account holds, with their is-pilot flag."""
    state = sandbox.state()
    account = sandbox.account(username)
    return {n["number"]: n["is-pilot"] for n in state["numbers"].values() if n["account_guid"] == account["guid"]}


def pool_use(page) -> list[str]:
    return [cell.strip() for cell in page.locator("#pool-use tbody tr").first.locator("th, td").all_inner_texts()]


def test_a_reseller_adds_a_range_allocates_it_and_assigns_numbers_to_a_line(
    live_server, start_worker, xc5_sandbox: XC5Sandbox, customer_world: CustomerWorld, browsing: Browsing
):
    from playwright.sync_api import expect

    voxline = Organization.objects.get(name="Voxline")
    reseller_admin = UserFactory(username="voxline.admin", is_staff=True)
    MembershipFactory(user=reseller_admin, organization=voxline, role=Role.ADMIN)
    start_worker(concurrency=2)
    wait_until(all_jobs_succeeded, message="the tenant, its entity and Alice's line are on the sandbox")
    base = live_server.url
    page = browsing.new_page()
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill("voxline.admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()

    # -- a range in one step, and a second one that overlaps it ---------------------------------------------
    page.goto(base + "/admin/telephony/phonenumber/")
    assert pool_use(page) == ["Voxline", "0", "5", "0", "5"], "free / allocated / assigned / total"
    page.get_by_role("link", name="Add a range").click()
    page.get_by_label("Pool of").select_option(label="Voxline")
    page.get_by_label("Numbers").fill("+64 9 123 1210 – 1219")
    page.get_by_label("Label").fill("Block B")
    browsing.screenshot(page, "50-numbers-add-a-range")
    page.get_by_role("button", name="Add the numbers").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "10 numbers (+6491231210 – +6491231219) added to Voxline's pool."
    )
    assert pool_use(page) == ["Voxline", "10", "5", "0", "15"]

    page.get_by_role("link", name="Add a range").click()
    page.get_by_label("Pool of").select_option(label="Voxline")
    page.get_by_label("Numbers").fill("+64 9 123 1215")
    page.get_by_label("Count").fill("20")
    page.get_by_role("button", name="Add the numbers").click()
    expect(page.locator("#content-main")).to_contain_text(
        "+6491231215 is in the pool of Voxline (and 4 more of this range). Nothing was added."
    )
    assert PhoneNumber.objects.count() == 15

    # -- a count of free numbers allocated to the customer's tenant -----------------------------------------
    page.goto(base + "/admin/telephony/phonenumber/")
    page.get_by_role("link", name="Allocate to a tenant").click()
    page.get_by_label("Pool of").select_option(label="Voxline")
    page.get_by_label("Allocate to").select_option(value=str(customer_world.tenant.pk))
    page.get_by_label("Count").fill("3")
    page.get_by_role("button", name="Allocate").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"3 numbers (+6491231210 … +6491231212) allocated to {TENANT_NAME}."
    )
    page.goto(base + "/admin/telephony/phonenumber/")
    assert pool_use(page) == ["Voxline", "7", "8", "0", "15"]
    browsing.screenshot(page, "51-numbers-pool-use")

    # -- two of them assigned from the line's page, pushed to XC5 --------------------------------------------
    line = customer_world.line
    page.goto(f"{base}/admin/telephony/pbxuser/{line.pk}/change/")
    page.get_by_label("Assign numbers").fill("+64 9 123 1210 – 1211")
    browsing.screenshot(page, "52-user-assign-numbers")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    wait_until(all_jobs_succeeded, message="both numbers are on Alice's XC5 account")
    assert numbers_on_xc5(xc5_sandbox, "alice") == {"6491231210": False, "6491231211": False}

    page.goto(base + "/admin/telephony/pbxuser/")
    expect(page.locator("#result_list")).to_contain_text("+6491231210, +6491231211")

    # -- one released there again: back to the tenant's free numbers, and off XC5 ----------------------------
    page.goto(f"{base}/admin/telephony/pbxuser/{line.pk}/change/")
    expect(page.locator(".field-numbers_held")).to_contain_text(
        re.compile(r"\+6491231210 Pushed.* \+6491231211 Pushed")
    )
    page.get_by_label("+6491231211").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    wait_until(all_jobs_succeeded, message="the released number is off Alice's XC5 account")
    assert numbers_on_xc5(xc5_sandbox, "alice") == {"6491231210": False}
    released = PhoneNumber.objects.get(number="+6491231211")
    assert released.assigned_user is None and released.tenant == customer_world.tenant
    page.goto(f"{base}/admin/telephony/pbxuser/{line.pk}/change/")
    expect(page.locator(".field-numbers_held")).to_contain_text("+6491231210")
    expect(page.locator(".field-numbers_held")).not_to_contain_text("+6491231211")
    browsing.screenshot(page, "53-user-numbers-after-release")
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
