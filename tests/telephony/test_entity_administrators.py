"""Granting an entity to a login is an administrator's act, inside the granter's own tree: only the
admin role over the entity's customer may grant, and only the customer's own logins can be granted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from telephony import selectors
from telephony.models import Entity
from telephony.services.tenants import entity_set_administrators
from tenants.models import Role
from tests.factories import EntityFactory, PbxUserFactory, TenantFactory, UserFactory


@pytest.fixture
def entity(tree):
    return EntityFactory(tenant=TenantFactory(organization=tree.customer))


@pytest.fixture
def own_login(tree, member):
    return member(tree.customer, Role.VIEWER)


@pytest.fixture
def foreign_login(tree, member):
    return member(tree.sibling_customer, Role.VIEWER)


def test_an_administrator_grants_the_customers_own_logins(tree, member, entity, own_login):
    admin = member(tree.reseller, Role.ADMIN)
    entity_set_administrators(actor=admin, entity=entity, administrators=[own_login])
    assert list(entity.administrators.all()) == [own_login]
    entity_set_administrators(actor=admin, entity=entity, administrators=[])
    assert not entity.administrators.exists()


def test_an_operator_cannot_grant(tree, member, entity, own_login):
    operator = member(tree.reseller, Role.OPERATOR)
    with pytest.raises(ValidationError, match="Only an administrator"):
        entity_set_administrators(actor=operator, entity=entity, administrators=[own_login])
    assert not entity.administrators.exists()


@pytest.mark.parametrize("kind", ["other customer", "sibling staff", "line elsewhere", "nobody's", "superuser"])
def test_a_login_from_outside_the_customer_is_refused(tree, member, entity, kind):
    admin = member(tree.distributor, Role.ADMIN)  # governs every login of the tree, and still may not
    if kind == "other customer":
        login = member(tree.sibling_customer, Role.VIEWER)
    elif kind == "sibling staff":
        login = member(tree.reseller, Role.OPERATOR)  # above the customer: not the customer's own login
    elif kind == "line elsewhere":
        login = member(tree.customer, Role.VIEWER)
        PbxUserFactory(tenant=TenantFactory(organization=tree.sibling_customer), portal_user=login)
    elif kind == "nobody's":
        login = UserFactory()
    else:
        login = UserFactory(is_superuser=True)
    with pytest.raises(ValidationError, match="Not available"):
        entity_set_administrators(actor=admin, entity=entity, administrators=[login])
    assert not entity.administrators.exists()
    assert login not in selectors.administrator_candidates(admin, entity)


def test_the_admin_form_offers_only_the_customers_logins_and_refuses_a_forged_post(
    tree, member, entity, own_login, foreign_login, client
):
    admin = member(tree.reseller, Role.ADMIN, is_staff=True)
    client.force_login(admin)
    url = reverse("admin:telephony_entity_change", args=[entity.pk])
    page = client.get(url)
    choices = list(page.context["adminform"].form.fields["administrators"].queryset)
    assert own_login in choices and foreign_login not in choices
    data = {
        "tenant": entity.tenant_id,
        "name": entity.name,
        "display_name": "",
        "presented_number": "",
        "number_plan": entity.number_plan,
        "administrators": [foreign_login.pk],
    }
    response = client.post(url, data)
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not entity.administrators.exists()
    data["administrators"] = [own_login.pk]
    assert client.post(url, data).status_code == 302
    assert list(Entity.objects.get(pk=entity.pk).administrators.all()) == [own_login]


def test_an_operator_sees_the_administrators_read_only_and_cannot_post_them(tree, member, entity, own_login, client):
    operator = member(tree.reseller, Role.OPERATOR, is_staff=True)
    client.force_login(operator)
    url = reverse("admin:telephony_entity_change", args=[entity.pk])
    assert "administrators" not in client.get(url).context["adminform"].form.fields
    data = {
        "tenant": entity.tenant_id,
        "name": entity.name,
        "display_name": "Renamed",
        "presented_number": "",
        "number_plan": entity.number_plan,
        "administrators": [own_login.pk],
    }
    assert client.post(url, data).status_code == 302  # the rest of the entity saves
    assert not entity.administrators.exists()
