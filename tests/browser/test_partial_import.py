"""A partial import in the staff admin, in a real browser: a file with one bad row is refused as a
whole by default; the preview offers to import the rows that pass and skip the bad one, the skipped
row downloads as a CSV to fix, and the rows that pass are written and pushed."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Browsing, CustomerWorld
from tests.browser.test_admin_imports import upload, users_csv
from tests.browser.test_selfservice import PUSHED, all_jobs_succeeded
from tests.factories import PASSWORD
from tests.telephony.provisioning.workers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_partial_import_writes_the_rows_that_pass_and_hands_back_the_others(
    live_server, start_worker, customer_world: CustomerWorld, browsing: Browsing
):
    from playwright.sync_api import expect

    from telephony.models import PbxUser

    start_worker(concurrency=2)
    wait_until(all_jobs_succeeded, message="the tenant, its entity and Alice's line are on the sandbox")
    base = live_server.url
    page = browsing.new_page()
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()

    upload(page, base, customer_world, users_csv(("Fay", 630), ("Gus", 99999), ("Hal", 631)))
    partial = page.get_by_role("button", name="Import the 2 rows that pass and skip the 1 that don't")
    expect(partial).to_be_visible()
    expect(page.locator(".import-errors")).to_contain_text("row 3, internal_number '99999'")
    skipped_link = page.get_by_role("link", name="download the skipped rows").first
    skipped = page.request.get(base + skipped_link.get_attribute("href"))
    assert skipped.ok and "Gus" in skipped.text() and "Fay" not in skipped.text()
    browsing.screenshot(page, "32-admin-partial-import-preview")

    partial.click()
    expect(page.locator(".messagelist")).to_contain_text("Imported: 2 created, 0 updated, 1 skipped with errors")
    progress = page.locator("#import-progress")
    expect(progress.locator("[data-part=pushed]")).to_have_text("2", timeout=PUSHED)
    expect(page.locator(".import-warning").first).to_contain_text("skipped")
    assert sorted(PbxUser.objects.filter(last_name="Imported").values_list("first_name", flat=True)) == ["Fay", "Hal"]
    browsing.screenshot(page, "33-admin-partial-import-done")
    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
