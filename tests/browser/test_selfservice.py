"""The self-service site in a real browser, end to end: a customer administrator logs in, creates a
user and watches its push finish live, finds it in the XC5 sandbox, changes its call forwarding,
imports a 20-row CSV and watches the progress bar finish; an end user logs in and sets their own
forwarding. Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from telephony.models import JobStatus, ProvisioningJob
from tests.browser.conftest import PHONE, Browsing, CustomerWorld, XC5Sandbox
from tests.factories import PASSWORD
from tests.telephony.provisioning.workers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUSHED = 60_000  # ms: only a guard against a hang, never a measure


def all_jobs_succeeded() -> bool:
    statuses = set(ProvisioningJob.objects.values_list("status", flat=True))
    return statuses == {JobStatus.SUCCEEDED}


def log_in(page, base_url: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(base_url + "/")
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    expect(page.locator("main h1")).to_be_visible()


def test_customer_administrator_and_end_user_change_lines_and_watch_them_reach_the_pbx(
    live_server, start_worker, xc5_sandbox: XC5Sandbox, customer_world: CustomerWorld, browsing: Browsing
):
    from playwright.sync_api import expect

    start_worker(concurrency=2)
    wait_until(all_jobs_succeeded, message="the tenant, its entity and Alice's line are on the sandbox")
    base = live_server.url
    page = browsing.new_page()

    # -- the customer administrator: dashboard, then a new user with a DDI --------------------------
    log_in(page, base, "acme.admin")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("[data-figure=users]")).to_have_text("1 / 50")
    browsing.screenshot(page, "01-admin-dashboard")

    page.get_by_role("link", name="Add a user").click()
    expect(page.get_by_role("heading", name="Add a user to Acme Bricks HQ")).to_be_visible()
    expect(page.get_by_label("Internal number")).to_have_value("601")  # the next free one: Alice has 600
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Newman")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Email", exact=True).fill("nina@acme.example")
    page.get_by_label("External number (DDI)").select_option(label=customer_world.numbers[1].number)
    browsing.screenshot(page, "02-admin-new-user-form")
    page.get_by_role("button", name="Create user").click()

    expect(page.get_by_role("heading", name=re.compile("Nina Newman"))).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Nina Newman was created")
    # pending → done, redrawn by the page's own poller (no reload)
    expect(page.locator("[data-sync-badge]")).to_have_text("on the PBX", timeout=PUSHED)
    expect(page.locator(".js-push-rows [data-status=succeeded]")).to_have_count(2)
    browsing.screenshot(page, "03-admin-user-pushed")

    account = wait_until(lambda: xc5_sandbox.account("nina"), message="Nina's account on the sandbox")
    assert account["description"] == "Nina Newman"
    numbers = xc5_sandbox.state()["numbers"].values()
    assert any(n["number"] == "6491231201" and n["account_guid"] == account["guid"] for n in numbers)
    status = browsing.new_page(watch_console=False)
    status.goto(xc5_sandbox.status.base_url + "/")
    expect(status.get_by_role("heading", name="PBX sandbox")).to_be_visible()
    browsing.screenshot(status, "04-sandbox-status")

    # -- call forwarding of the new user ----------------------------------------------------------------
    page.get_by_label("Forward when not answered to").fill("+31612345678")
    page.get_by_label("Seconds before forwarding").fill("25")
    page.get_by_role("button", name="Save voicemail and forwarding").click()
    expect(page.get_by_role("status")).to_contain_text("Voicemail and forwarding were saved")
    expect(page.locator(".js-push-rows tr").first).to_contain_text("Update line")
    expect(page.locator(".js-push-rows tr").first.locator("[data-status]")).to_have_text("done", timeout=PUSHED)
    account = xc5_sandbox.account("nina")
    assert (account["cfna_active"], account["cfna_dest"], account["cfna_duration"]) == (True, "31612345678", 25)
    browsing.screenshot(page, "05-admin-forwarding-pushed")

    # -- a 20-row CSV through the bulk importer, its progress bar followed to the end -------------------
    rows = [f"Bulk,User {n:02d},bulk{n:02d},{610 + n},bulk{n:02d}@acme.example,Standard line" for n in range(20)]
    csv = "first_name,last_name,username,exten,email,template\n" + "\n".join(rows) + "\n"
    page.get_by_role("link", name="Import / export").click()
    page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "staff.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("button", name="Import 20 rows")).to_be_visible()
    browsing.screenshot(page, "06-admin-import-preview")
    page.get_by_role("button", name="Import 20 rows").click()
    expect(page.get_by_role("status").first).to_contain_text("Imported: 20 created")
    progress = page.locator("#import-progress")
    expect(progress.locator("[data-part=remaining]")).to_have_text("0", timeout=PUSHED)
    expect(progress.locator("[data-part=pushed]")).to_have_text("20")
    expect(progress.locator("[data-part=phase]")).to_have_text("Every change has been pushed or has failed.")
    browsing.screenshot(page, "07-admin-import-finished")
    assert all(xc5_sandbox.account(f"bulk{n:02d}") for n in range(20)), "all 20 users are on the sandbox"

    page.get_by_role("navigation", name="Site").get_by_role("link", name="Users").click()
    expect(page.get_by_role("link", name="Nina Newman")).to_be_visible()
    browsing.screenshot(page, "08-admin-user-list")
    page.get_by_role("button", name=re.compile("Sign out")).click()
    expect(page).to_have_url(re.compile(r"/login/$"))

    # -- the end user sets her own forwarding --------------------------------------------------------
    log_in(page, base, "alice")
    expect(page.get_by_role("heading", name=re.compile("My line"))).to_be_visible()
    page.get_by_label("Forward all calls to").fill("+31201112222")
    page.get_by_role("button", name="Save my line").click()
    expect(page.get_by_role("status")).to_contain_text("Your line was saved")
    expect(page.locator("[data-sync-badge]")).to_have_text("on the PBX", timeout=PUSHED)
    alice = xc5_sandbox.account("alice")
    routes = [r for r in xc5_sandbox.state()["routes"].values() if r["account_guid"] == alice["guid"]]
    assert [r["destination"] for r in routes if r.get("order") == -10] == ["31201112222"]
    browsing.screenshot(page, "09-end-user-my-line")

    # -- the same pages on a phone-sized screen ----------------------------------------------------------
    phone = browsing.new_page(viewport=PHONE)
    log_in(phone, base, "alice")
    browsing.screenshot(phone, "10-phone-my-line")
    phone.get_by_role("button", name="Show the menu").click()
    expect(phone.get_by_role("link", name="My line")).to_be_visible()
    phone = browsing.new_page(viewport=PHONE)
    log_in(phone, base, "acme.admin")
    browsing.screenshot(phone, "11-phone-admin-dashboard")
    phone.goto(base + "/users/")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    browsing.screenshot(phone, "12-phone-user-list")

    assert browsing.console_errors == [], "no script error and no content-security-policy violation"


def tab_to(page, accessible_text: str, limit: int = 40) -> None:
    """Press Tab until the focused element's text (or label) is `accessible_text`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return ((e.labels && e.labels[0] && e.labels[0].textContent) || e.textContent || '').trim(); }"
        )
        if focused.startswith(accessible_text):
            return
    raise AssertionError(f"{accessible_text!r} cannot be reached with the Tab key")


def test_the_keyboard_alone_signs_in_creates_a_user_and_backs_out_of_a_delete(
    live_server, customer_world: CustomerWorld, browsing: Browsing
):
    """No worker needed: this is about focus, labels, and the confirmation before a delete."""
    from playwright.sync_api import expect

    from telephony.models import PbxUser

    page = browsing.new_page()
    page.goto(live_server.url + "/login/")
    # The username field has the focus when the page opens; typing before autofocus lands loses keys.
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("acme.admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the content")
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    tab_to(page, "Add a user")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Add a user to Acme Bricks HQ")).to_be_visible()
    tab_to(page, "First name")
    for value in ("Kim", "Keys", "", "kim.keys", "kim@acme.example"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # submits the form from its e-mail field
    expect(page.get_by_role("heading", name=re.compile("Kim Keys"))).to_be_visible()
    kim = PbxUser.objects.get(username="kim.keys")
    assert kim.internal_number == "601"

    page.goto(live_server.url + f"/users/{kim.pk}/")
    tab_to(page, "Delete")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Delete Kim Keys"))).to_be_visible()
    tab_to(page, "Cancel")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Kim Keys"))).to_be_visible()
    assert PbxUser.objects.filter(pk=kim.pk).exists(), "backing out of the confirmation deletes nothing"
    tab_to(page, "Delete")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Delete Kim Keys"))).to_be_visible()
    tab_to(page, "Delete Kim Keys")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Kim Keys was deleted")
    assert not PbxUser.objects.filter(pk=kim.pk).exists()
    browsing.screenshot(page, "13-keyboard-after-delete")
    assert browsing.console_errors == []
