"""The tenant page's entity rows: a number plan the service refuses (an overlap, users left outside
it, an entity that still has users) shows next to its row with what was typed kept, and nothing is
written — on the change page and on the add page alike."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from telephony.models import Entity, Tenant
from tenants.models import Role
from tests.factories import EntityFactory, PbxUserFactory, PlatformFactory, ServerFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(tree, member, client):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    return client


@pytest.fixture
def tenant(tree):
    tenant = TenantFactory(
        organization=tree.customer, server=ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    )
    sales = EntityFactory(tenant=tenant, name="sales", intervals=[("1700", "1799")])
    EntityFactory(tenant=tenant, name="office", intervals=[("2000", "2099")])
    PbxUserFactory(tenant=tenant, entity=sales, internal_number="1701", first_name="Stays", last_name="Put")
    return tenant


def change_data(tenant: Tenant, **rows: dict) -> dict:
    """The tenant page as posted, its entity rows as they are unless `rows` (by entity name) says otherwise."""
    data = {
        "organization": tenant.organization_id,
        "server": tenant.server_id,
        "name": tenant.name,
        "licences": tenant.licences,
        "status": tenant.status,
    }
    entities = list(tenant.entities.order_by("name"))
    data["entities-TOTAL_FORMS"] = data["entities-INITIAL_FORMS"] = len(entities)
    for index, entity in enumerate(entities):
        row = {"id": entity.pk, "tenant": tenant.pk, "name": entity.name, "number_plan": entity.number_plan}
        row.update(rows.get(entity.name, {}))
        data.update({f"entities-{index}-{key}": value for key, value in row.items()})
    return data


def row_errors(response, name: str) -> dict:
    formset = response.context["inline_admin_formsets"][0].formset
    form = next(form for form in formset.forms if form["name"].value() == name)
    return {field: " ".join(errors) for field, errors in form.errors.items()}


def plans(tenant: Tenant) -> dict[str, str]:
    return {entity.name: entity.number_plan for entity in tenant.entities.all()}


def test_an_overlap_shows_next_to_the_number_plan_and_keeps_what_was_typed(operator, tenant):
    before = plans(tenant)
    url = reverse("admin:telephony_tenant_change", args=[tenant.pk])
    response = operator.post(url, change_data(tenant, office={"number_plan": "1750-1760"}))
    assert response.status_code == 200, "the form again, not a redirect"
    assert "overlaps 1700–1799 of entity sales" in row_errors(response, "office")["number_plan"]
    assert 'value="1750-1760"' in response.content.decode(), "what was typed is kept"
    assert not list(get_messages(response.wsgi_request)), "no banner"
    assert plans(tenant) == before, "nothing written"


def test_a_plan_that_strands_users_shows_next_to_its_row(operator, tenant):
    before = plans(tenant)
    url = reverse("admin:telephony_tenant_change", args=[tenant.pk])
    response = operator.post(url, change_data(tenant, sales={"number_plan": "1800-1899"}, office={"label": "x"}))
    assert response.status_code == 200
    assert "Stays Put (1701)" in row_errors(response, "sales")["number_plan"]
    assert 'value="1800-1899"' in response.content.decode()
    assert plans(tenant) == before


def test_deleting_an_entity_that_has_users_is_refused_on_the_form(operator, tenant):
    url = reverse("admin:telephony_tenant_change", args=[tenant.pk])
    response = operator.post(url, change_data(tenant, sales={"DELETE": "on"}))
    assert response.status_code == 200
    assert "Stays Put (1701)" in str(response.context["inline_admin_formsets"][0].formset.non_form_errors())
    assert set(plans(tenant)) == {"sales", "office"}


def test_a_valid_change_is_saved(operator, tenant):
    url = reverse("admin:telephony_tenant_change", args=[tenant.pk])
    response = operator.post(url, change_data(tenant, sales={"number_plan": "1700-1799, 1961"}))
    assert response.status_code == 302
    assert plans(tenant)["sales"] == "1700-1799, 1961"


def new_tenant_data(tree, server, *plans_typed: str) -> dict:
    data = {
        "organization": tree.customer.pk,
        "server": server.pk,
        "name": "newtenant",
        "licences": 10,
        "status": "started",
        "entities-TOTAL_FORMS": len(plans_typed),
        "entities-INITIAL_FORMS": 0,
    }
    for index, plan in enumerate(plans_typed):
        data[f"entities-{index}-name"] = f"unit{index}"
        data[f"entities-{index}-number_plan"] = plan
    return data


def test_a_new_tenant_with_overlapping_entities_is_refused_on_the_row(operator, tree):
    server = ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    response = operator.post(reverse("admin:telephony_tenant_add"), new_tenant_data(tree, server, "1000-1099", "1050"))
    assert response.status_code == 200
    assert "overlaps 1000–1099 of entity unit0" in row_errors(response, "unit1")["number_plan"]
    assert not Tenant.objects.filter(name="newtenant").exists() and not Entity.objects.exists()


def test_a_new_tenant_is_saved_with_its_entities(operator, tree):
    server = ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    response = operator.post(reverse("admin:telephony_tenant_add"), new_tenant_data(tree, server, "1000-1099", "1100"))
    assert response.status_code == 302
    assert plans(Tenant.objects.get(name="newtenant")) == {"unit0": "1000-1099", "unit1": "1100"}
