"""Every admin page of every role fits a 1366 px laptop screen: each list as the platform operator,
a reseller's administrator and viewer, and an entity administrator, and each add form and object
page as the operator, with long real-world names. Nothing wider than its room, no sideways scrolling.
The operator reads the admin in French and the reseller's administrator in Dutch (their headers and
labels are the longest), the others in English."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.browser.test_admin_layout import LAPTOP, OVERFLOWING
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGES = {"root": "fr", "reseller.admin": "nl"}  # the others read the admin in English


def _world():
    from tenants.models import Organization, OrganizationKind, Role
    from tests.factories import MembershipFactory, UserFactory
    from tests.worlds import build_world

    root = Organization.objects.add_root(
        instance=Organization(name="Northwind Communications International", kind=OrganizationKind.DISTRIBUTOR)
    )
    reseller = Organization.objects.add_child(
        root, instance=Organization(name="Voxline Telecom Services Benelux", kind=OrganizationKind.RESELLER)
    )
    customer = Organization.objects.add_child(
        reseller, instance=Organization(name="Acme Brick Company Rotterdam", kind=OrganizationKind.CUSTOMER)
    )
    world = build_world(reseller, customer)
    logins = {"root": UserFactory(username="root", is_superuser=True)}
    for role in (Role.ADMIN, Role.VIEWER):
        logins[f"reseller.{role}"] = UserFactory(username=f"reseller.{role}")
        MembershipFactory(user=logins[f"reseller.{role}"], organization=reseller, role=role)
    from telephony.models import Entity

    logins["entity.admin"] = UserFactory(username="entity.admin")
    Entity.objects.get(pk=world[Entity].pk).administrators.add(logins["entity.admin"])
    from tenants.models import LoginSettings

    for username, language in LANGUAGES.items():
        LoginSettings.objects.create(user=logins[username], language=language)
    return world, logins


def _pages(world, *, forms: bool) -> list[str]:
    """Every list; with `forms`, every add form and object page as well (the platform operator opens
    them all; the others' forms are the same forms with fewer choices)."""
    pages = []
    for model in admin.site._registry:
        meta = model._meta
        views = [("changelist", [])]
        if forms:
            views += [("add", []), ("change", [world[model].pk] if model in world else None)]
        for view, args in views:
            if args is None:
                continue
            try:
                pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args))
            except NoReverseMatch:
                continue
    return ["/admin/", *pages]


def test_every_admin_page_of_every_role_fits_a_laptop_screen(live_server, transactional_db, browsing):
    from playwright.sync_api import expect

    world, logins = _world()
    overflowing = {}
    for username in logins:
        page = browsing.new_page(LAPTOP)
        page.goto(live_server.url + "/admin/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#site-name")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", LANGUAGES.get(username, "en"))
        for path in _pages(world, forms=username == "root"):
            answer = page.goto(live_server.url + path)
            if answer is None or answer.status != 200:
                continue  # not this login's page (403/404): nothing to lay out
            found = page.evaluate(OVERFLOWING)
            if found:
                overflowing[f"{username} {path}"] = found
        page.close()
    assert not overflowing, "\n".join(f"{k}: {v}" for k, v in sorted(overflowing.items()))
    refused = "Failed to load resource: the server responded with a status of 40"  # pages not this login's
    assert [error for error in browsing.console_errors if refused not in error] == []
