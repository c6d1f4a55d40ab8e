"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser) against
pytest-django's live server, with a real Celery worker process and the XC5 sandbox simulator.

The worker comes from the provisioning tests' fixtures (`start_worker`, `broker`), imported here so
that there is one worker launcher. Screenshots go to test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from telephony.models import Entity, LineTemplate, PbxUser, PhoneNumber, Platform, Server, Tenant
from telephony.sandbox.park import Sandbox, StatusPage
from telephony.sandbox.server import RunningSimulator, serve_in_thread
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.services.numbers import phone_number_create
from telephony.services.templates import line_template_create
from telephony.services.tenants import entity_create, tenant_create
from telephony.services.users import pbx_user_create
from tenants.models import OrganizationKind, Role
from tests.factories import MembershipFactory, OrganizationFactory, PlatformFactory, ServerFactory, UserFactory
from tests.telephony.provisioning.conftest import (  # noqa: F401  (fixtures, shared with the worker tests)
    broker,
    broker_available,
    service_missing,
    start_worker,
)

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TENANT_NAME = "acmebrick.x.co.nz"
# Numbers of the XC5 sandbox's free pool (+64 9 123 12xx), allocated to the customer's tenant.
FREE_NUMBERS = [f"+64912312{n:02d}" for n in range(0, 5)]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        service_missing("Debian's Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous code.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@dataclass
class Browsing:
    """Pages opened by one test, and what their consoles said (CSP violations show up there)."""

    chromium: Any
    contexts: list[Any] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def new_page(self, viewport: dict[str, int] = DESKTOP, *, watch_console: bool = True) -> Any:
        """A page in a fresh context (its own cookies); `watch_console=False` for pages that are not
        the portal's (the sandbox's status page has no favicon, for one)."""
        context = self.chromium.new_context(viewport=viewport)
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        page = context.new_page()
        if watch_console:
            page.on("console", lambda message: self._console(page, message))
            page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: {error}"))
        return page

    def _console(self, page: Any, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.console_errors.append(f"{page.url}: {message.text}")

    @staticmethod
    def screenshot(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsing(chromium) -> Iterator[Browsing]:
    browsing = Browsing(chromium)
    yield browsing
    browsing.close()


@dataclass
class XC5Sandbox:
    simulator: Xc5Simulator
    running: RunningSimulator
    status: RunningSimulator

    def state(self) -> dict[str, Any]:
        """The simulator's state as its control endpoint serves it (over HTTP, as a person sees it)."""
        import requests

        return requests.get(self.running.base_url + "/_sandbox/state", timeout=10).json()["state"]

    def account(self, username: str) -> dict[str, Any] | None:
        wanted = f"{username}@{TENANT_NAME}"
        return next((a for a in self.state()["accounts"].values() if a["username"] == wanted), None)


@pytest.fixture
def xc5_sandbox() -> Iterator[XC5Sandbox]:
    simulator = Xc5Simulator()
    running = serve_in_thread(simulator)
    status = serve_in_thread(StatusPage(Sandbox(running={"xc5": running})))
    yield XC5Sandbox(simulator, running, status)
    status.stop()
    running.stop()


@dataclass
class CustomerWorld:
    admin: Any
    end_user: Any
    line: PbxUser
    platform: Platform
    server: Server
    tenant: Tenant
    entity: Entity
    template: LineTemplate
    numbers: list[PhoneNumber]


@pytest.fixture
def customer_world(transactional_db, xc5_sandbox) -> CustomerWorld:
    """Acme Bricks under a reseller: a tenant on the XC5 sandbox, made through the services (their jobs
    run on the worker), free numbers, a customer administrator and Alice with her own line."""
    operator = UserFactory(username="operator", is_superuser=True)
    distributor = OrganizationFactory(name="Northwind", kind=OrganizationKind.DISTRIBUTOR)
    reseller = OrganizationFactory(name="Voxline", kind=OrganizationKind.RESELLER, parent=distributor)
    customer = OrganizationFactory(name="Acme Bricks", kind=OrganizationKind.CUSTOMER, parent=reseller)
    platform = PlatformFactory(
        organization=distributor,
        kind="xc5",
        base_url=xc5_sandbox.running.base_url + "/api-sys/",
        username=SYSTEM_API_USERNAME,
        secret=SYSTEM_API_PASSWORD,
        timeout_seconds=5,
    )
    server = ServerFactory(platform=platform, name="xc5-sandbox")
    tenant = tenant_create(
        actor=operator,
        tenant=Tenant(organization=customer, server=server, name=TENANT_NAME, label="Acme Bricks HQ", licences=50),
    )
    entity = entity_create(
        actor=operator, entity=Entity(tenant=tenant, name="office", display_name="Office"), intervals=[("600", "699")]
    )
    template = line_template_create(actor=operator, template=LineTemplate(organization=reseller, name="Standard line"))
    numbers = [
        phone_number_create(actor=operator, number=PhoneNumber(number=n, organization=reseller, tenant=tenant))
        for n in FREE_NUMBERS
    ]
    admin = UserFactory(username="acme.admin", is_staff=False, email="admin@acme.example")
    MembershipFactory(user=admin, organization=customer, role=Role.ADMIN)
    alice = UserFactory(username="alice", is_staff=False, email="alice@acme.example")
    line = pbx_user_create(
        actor=operator,
        user=PbxUser(
            tenant=tenant,
            entity=entity,
            template=template,
            username="alice",
            first_name="Alice",
            last_name="Liddell",
            internal_number="600",
            portal_user=alice,
        ),
    )
    return CustomerWorld(admin, alice, line, platform, server, tenant, entity, template, numbers)
