"""Issue 16, part 5, in a real browser: the admin's PBX user form narrows the entity box to the chosen
tenant and fills in the chosen entity's next free internal number (a number typed over stays), and
suggests the tenant's free external numbers, as the self-service form does."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tenants.models import Organization, OrganizationKind, Role
from tests.browser.conftest import Browsing, CustomerWorld
from tests.factories import (
    PASSWORD,
    EntityFactory,
    MembershipFactory,
    OrganizationFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def choose(page, field: str, typed: str, option: str) -> None:
    """Pick a choice of an autocomplete box (select2) as a person does: open it, type, click."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(typed)
    page.locator(".select2-results__option", has_text=option).first.click()


def offered(page, field: str) -> list[str]:
    """The choices an autocomplete box shows once its answer is in (not the last opening's, shown meanwhile)."""
    with page.expect_response(lambda response: "/admin/autocomplete/" in response.url) as answered:
        page.locator(f"#id_{field} + .select2 .select2-selection").click()
    expected = [result["text"] for result in answered.value.json()["results"]]
    results = page.locator(".select2-container--open .select2-results__option:not(.loading-results)")
    expect(results).to_have_count(len(expected))
    texts = results.all_inner_texts()
    page.keyboard.press("Escape")
    assert texts == expected
    return texts


def test_the_user_form_follows_the_chosen_tenant(live_server, customer_world: CustomerWorld, browsing: Browsing):
    voxline = Organization.objects.get(name="Voxline")
    globex = OrganizationFactory(name="Globex", kind=OrganizationKind.CUSTOMER, parent=voxline)
    other = TenantFactory(organization=globex, server=customer_world.server, name="globex.x.co.nz")
    EntityFactory(tenant=other, name="sales", intervals=[("300", "399")])
    EntityFactory(tenant=customer_world.tenant, name="stock", intervals=[("700", "799")])
    reseller_admin = UserFactory(username="voxline.admin", is_staff=True)
    MembershipFactory(user=reseller_admin, organization=voxline, role=Role.ADMIN)

    page = browsing.new_page()
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill("voxline.admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + "/admin/telephony/pbxuser/add/")

    assert any("sales" in text for text in offered(page, "entity")), "no tenant yet: every entity in scope"
    choose(page, "tenant", "acme", "acmebrick")
    entities = offered(page, "entity")
    assert entities and all("acmebrick" in text for text in entities), entities
    assert not any("sales" in text for text in entities)

    number = page.locator("#id_internal_number")
    choose(page, "entity", "office", "office")
    expect(number).to_have_value("601")  # Alice holds 600
    choose(page, "entity", "stock", "stock")
    expect(number).to_have_value("700")  # the suggestion follows the entity
    number.fill("750")
    choose(page, "entity", "office", "office")
    expect(number).to_have_value("750")  # a number typed over is kept
    suggested = page.locator("#id_assign_numbers-free option").evaluate_all("options => options.map(o => o.value)")
    assert suggested == [n.number for n in customer_world.numbers]
    browsing.screenshot(page, "60-admin-user-form-follows-the-tenant")

    choose(page, "tenant", "globex", "globex")
    expect(page.locator("#select2-id_entity-container")).not_to_contain_text("office")  # cleared with its tenant
    choose(page, "entity", "sales", "sales")
    expect(number).to_have_value("750")
    number.fill("")
    choose(page, "tenant", "acme", "acmebrick")
    choose(page, "entity", "stock", "stock")
    expect(number).to_have_value("700")
