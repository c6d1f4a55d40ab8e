"""Webhooks in a real browser: a customer administrator registers one for a receiver on loopback,
copies its secret, sends a test event and watches the worker deliver it, signed; the pages fit a
laptop screen in French and Dutch too, and run no script the content security policy refuses."""

from __future__ import annotations

import json

import pytest

from tenants.models import LoginSettings
from tests.browser.conftest import Browsing, CustomerWorld
from tests.browser.test_selfservice import log_in
from tests.telephony.provisioning.workers import wait_until
from tests.telephony.webhooks.conftest import verifies
from tests.telephony.webhooks.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE = "<img src=x onerror=alert(1)>{{ 7|add:1 }}"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


def test_a_webhook_is_registered_tested_and_delivered_signed(
    live_server, start_worker, customer_world: CustomerWorld, browsing: Browsing, receiver
):
    from playwright.sync_api import expect

    start_worker(concurrency=2)
    base = live_server.url
    page = browsing.new_page()
    log_in(page, base, "acme.admin")
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill(HOSTILE)
    page.get_by_label("A PBX user was created").check()
    page.get_by_role("button", name="Add the webhook").click()
    secret = page.locator("[data-secret]").inner_text()
    assert secret.startswith("whsec_")
    expect(page.locator("table.webhook-endpoints")).to_contain_text(HOSTILE)  # as text, not as markup
    browsing.screenshot(page, "webhooks-01-made")

    page.get_by_role("link", name=receiver.url).click()
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("status")).to_contain_text("A test event is on its way")
    wait_until(lambda: receiver.received, message="the receiver got the test event")
    [request] = receiver.received
    assert json.loads(request.body)["type"] == "webhook.test"
    assert verifies(secret, request.headers, request.body)
    page.reload()
    expect(page.locator("table.webhook-deliveries")).to_contain_text("Delivered")
    page.get_by_text("Body and attempts").click()
    expect(page.locator(".webhook-body")).to_contain_text("A test event from the portal.")
    browsing.screenshot(page, "webhooks-02-delivered")
    detail = page.url

    for language in ("fr", "nl"):
        LoginSettings.objects.update_or_create(user=customer_world.admin, defaults={"language": language})
        other = browsing.new_page()
        log_in(other, base, "acme.admin")
        for url in (base + "/webhooks/", detail):
            other.goto(url)
            assert other.evaluate(FITS), f"{url} in {language}: no sideways scrolling on a laptop"
        browsing.screenshot(other, f"webhooks-03-{language}")

    assert browsing.console_errors == [], "no script error and no content-security-policy violation"
