"""A CSV import in the staff admin, in a real browser under the content security policy: the template
link follows the tenant chosen on the form; the import page follows a background check to its
preview, and after the confirmation the pushed / failed / remaining counts of the import's jobs
update on the page, without reloading it by hand."""

from __future__ import annotations

import re

import pytest

from telephony.imports import services
from tests.browser.conftest import Browsing, CustomerWorld
from tests.browser.test_selfservice import PUSHED, all_jobs_succeeded
from tests.factories import PASSWORD
from tests.telephony.provisioning.workers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def users_csv(*people: tuple[str, int]) -> bytes:
    rows = [f"{name},Imported,{name.lower()},{number},Standard line" for name, number in people]
    return ("first_name,last_name,username,exten,template\n" + "\n".join(rows) + "\n").encode()


def upload(page, base_url: str, world: CustomerWorld, data: bytes) -> None:
    page.goto(f"{base_url}/admin/telephony/pbxuser/import/?tenant={world.tenant.pk}")
    page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="Upload and check").click()


def test_an_admin_import_shows_its_check_and_its_pushes_live(
    live_server, start_worker, customer_world: CustomerWorld, browsing: Browsing, monkeypatch
):
    from playwright.sync_api import expect

    start_worker(concurrency=2)
    wait_until(all_jobs_succeeded, message="the tenant, its entity and Alice's line are on the sandbox")
    base = live_server.url
    page = browsing.new_page()
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()

    # -- the template link follows the tenant chosen on the form ------------------------------------
    page.goto(base + "/admin/telephony/pbxuser/import/")
    template_link = page.get_by_role("link", name="Download a template with an example row")
    page.locator("#id_tenant").select_option("")
    expect(template_link).to_have_attribute("href", "/admin/telephony/pbxuser/import/template.csv")
    page.locator("#id_tenant").select_option(str(customer_world.tenant.pk))
    expect(template_link).to_have_attribute("href", re.compile(rf"template\.csv\?tenant={customer_world.tenant.pk}$"))

    # -- a small file: checked in the request; after the confirmation the jobs' counts come in live --
    upload(page, base, customer_world, users_csv(("Ann", 620), ("Ben", 621), ("Cas", 622)))
    expect(page.get_by_role("button", name="Import 3 rows")).to_be_visible()
    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.locator(".messagelist")).to_contain_text("Imported: 3 created")
    page.evaluate("window.sameImportPage = true")  # gone if anything reloads the page
    progress = page.locator("#import-progress")
    expect(progress.locator("[data-part=remaining]")).to_have_text("0", timeout=PUSHED)
    expect(progress.locator("[data-part=pushed]")).to_have_text("3")
    expect(progress.locator("[data-part=failed]")).to_have_text("0")
    expect(progress.locator("[data-part=phase]")).to_have_text("Every change has been pushed or has failed.")
    assert page.evaluate("window.sameImportPage === true"), "the counts came without a reload"
    browsing.screenshot(page, "30-admin-import-pushed")

    # -- a "large" file: checked and committed by the worker; the page follows both by itself --------
    monkeypatch.setattr(services, "BACKGROUND_BYTES", 16)
    upload(page, base, customer_world, users_csv(("Dee", 623), ("Eve", 624)))
    expect(page.get_by_role("button", name="Import 2 rows")).to_be_visible(timeout=PUSHED)
    page.get_by_role("button", name="Import 2 rows").click()
    expect(progress.locator("[data-part=pushed]")).to_have_text("2", timeout=PUSHED)
    expect(progress.locator("[data-part=remaining]")).to_have_text("0")
    expect(page.locator(".import-facts .badge")).to_have_text(re.compile("Imported", re.I))
    browsing.screenshot(page, "31-admin-background-import-pushed")
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
