"""Issue 16, parts 2 and 8 in a real browser: a reseller administrator onboards a customer through
the admin's wizard (the customer with a hostile name, a tenant on the XC5 sandbox, an entity and its
number plan, a number from the pool, the customer administrator's login, two users by CSV); the
confirmation page shows the name as typed, the last page follows the batch's jobs to the sandbox
live, and the new administrator sets a password through the mailed link and signs in to the
self-service site. Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from telephony.models import JobStatus, PhoneNumber, ProvisioningBatch, Tenant
from tenants.models import Organization, Role
from tests.browser.conftest import Browsing, CustomerWorld
from tests.browser.test_selfservice import PUSHED, all_jobs_succeeded
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.telephony.provisioning.workers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE = "{{ 7*7 }} <img src=x onerror=alert(1)> Bricks"
NEW_TENANT = "newbricks.x.co.nz"
POOL_NUMBER = "+6491231205"  # in the XC5 sandbox's free pool, not yet any tenant's
USERS = (
    b"first_name,last_name,username,exten,template\nAnn,Able,ann,701,Standard line\nBen,Bold,ben,702,Standard line\n"
)


def test_a_reseller_admin_onboards_a_customer_in_one_go(
    live_server, start_worker, customer_world: CustomerWorld, browsing: Browsing, mailoutbox
):
    from playwright.sync_api import expect

    voxline = Organization.objects.get(name="Voxline")
    admin = UserFactory(username="voxline.admin", is_staff=True)
    MembershipFactory(user=admin, organization=voxline, role=Role.ADMIN)
    PhoneNumber.objects.create(number=POOL_NUMBER, organization=voxline)
    start_worker(concurrency=2)
    wait_until(all_jobs_succeeded, message="Acme's tenant, entity and line are on the sandbox")
    base = live_server.url
    page = browsing.new_page()
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill("voxline.admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Onboard a customer").click()

    # -- the six steps, each checked before the next --------------------------------------------------
    expect(page.locator("#content h1")).to_contain_text("1. The customer")
    page.locator("#id_parent").select_option(str(voxline.pk))
    page.get_by_label("customer name").fill(HOSTILE)
    page.get_by_role("button", name="Next").click()

    expect(page.locator("#content h1")).to_contain_text("2. Its tenant")
    page.locator("#id_server").select_option(str(customer_world.server.pk))
    page.get_by_label("Name").fill("not a domain")
    page.get_by_label("Licences").fill("10")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".errorlist")).to_be_visible()  # XC5 names a tenant like a domain: refused here
    page.get_by_label("Name").fill(NEW_TENANT)
    page.get_by_role("button", name="Next").click()

    expect(page.locator("#content h1")).to_contain_text("3. Entities and number plans")
    page.locator("[name=entity-0-name]").fill("office")
    page.locator("[name=entity-0-display_name]").fill("Office")
    page.locator("[name=entity-0-intervals]").fill("700-799")
    page.get_by_role("button", name="Next").click()

    expect(page.locator("#content h1")).to_contain_text("4. Numbers from the pool")
    page.locator("#id_numbers").select_option([POOL_NUMBER])
    page.get_by_role("button", name="Next").click()

    expect(page.locator("#content h1")).to_contain_text("5. Its administrator")
    page.get_by_label("Username").fill("newbricks.admin")
    page.get_by_label("Email").fill("boss@newbricks.example")
    page.get_by_role("button", name="Next").click()

    expect(page.locator("#content h1")).to_contain_text("6. Users by CSV")
    page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": USERS}]
    )
    page.locator("#id_template").select_option(label="Standard line")
    page.get_by_role("button", name="Check and review").click()

    # -- the confirmation: the hostile name as typed, nothing written yet -------------------------------
    summary = page.locator(".onboarding-summary")
    expect(summary).to_contain_text(HOSTILE)
    expect(summary).to_contain_text("people.csv: 2 users")
    expect(page.locator("img[src=x]")).to_have_count(0)
    assert not Tenant.objects.filter(name=NEW_TENANT).exists()
    browsing.screenshot(page, "50-onboarding-confirm")
    page.get_by_role("button", name="Onboard the customer").click()

    # -- the batch's jobs reach the sandbox; the page follows them without a reload ---------------------
    progress = page.locator("#import-progress")
    expect(progress).to_be_visible()
    batch = ProvisioningBatch.objects.get(label__startswith="Onboarding of")
    # the page starts at "0 remaining" before it has read anything: wait for every job pushed
    expect(progress.locator("[data-part=pushed]")).to_have_text(str(batch.jobs.count()), timeout=PUSHED)
    expect(progress.locator("[data-part=remaining]")).to_have_text("0")
    expect(progress.locator("[data-part=failed]")).to_have_text("0")
    assert set(batch.jobs.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}
    expect(progress.locator("[data-part=pushed]")).to_have_text(str(batch.jobs.count()))
    expect(page.locator("#content")).to_contain_text(HOSTILE)
    browsing.screenshot(page, "51-onboarding-pushed")
    tenant = Tenant.objects.get(name=NEW_TENANT)
    assert tenant.users.count() == 2 and list(tenant.phone_numbers.values_list("number", flat=True)) == [POOL_NUMBER]

    # -- the new administrator sets a password through the mailed link and signs in --------------------
    assert [message.to for message in mailoutbox] == [["boss@newbricks.example"]]
    link = re.search(r"https?://\S+/password/reset/\S+/", mailoutbox[0].body).group(0)
    customer_page = browsing.new_page()
    customer_page.goto(base + re.sub(r"^https?://[^/]+", "", link))
    customer_page.locator("[name=new_password1]").fill("Onboarded-2026-pass")
    customer_page.locator("[name=new_password2]").fill("Onboarded-2026-pass")
    customer_page.get_by_role("button", name="Save the new password").click()
    customer_page.goto(base + "/")
    customer_page.get_by_label("Username").fill("newbricks.admin")
    customer_page.get_by_label("Password").fill("Onboarded-2026-pass")
    customer_page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    expect(customer_page.locator("main")).to_contain_text(NEW_TENANT)
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
