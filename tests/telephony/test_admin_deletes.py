"""Deleting a tenant or an entity in the admin: its number plan goes with it (no right to delete
number intervals one by one is asked), the confirmation says which jobs remove it from the PBX, and
what the service refuses (a tenant with a CRM integration) is said, not a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import ConfiguratorLink, ConfiguratorOrder, Entity, NumberInterval, ProvisioningJob, Tenant
from tenants.models import Role
from tests.factories import EntityFactory, LineTemplateFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(tree):
    tenant = TenantFactory(organization=tree.customer, name="acme")
    entity = EntityFactory(tenant=tenant, name="sales")
    NumberInterval.objects.create(entity=entity, start="100", end="199")
    return tenant


def test_a_reseller_admin_deletes_a_tenant_with_its_number_plan_in_one_step(tree, member, client, tenant):
    client.force_login(member(tree.reseller, Role.ADMIN))
    url = reverse("admin:telephony_tenant_delete", args=[tenant.pk])
    page = client.get(url)
    assert not page.context["perms_lacking"]
    text = page.content.decode()
    assert "On the PBX, after you confirm" in text and "removes the tenant acme itself" in text
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Tenant.objects.exists() and not NumberInterval.objects.exists()
    assert ProvisioningJob.objects.filter(operation="tenant.delete").exists()


def test_an_entity_goes_with_its_number_plan(tree, member, client, tenant):
    entity = Entity.objects.get()
    client.force_login(member(tree.reseller, Role.ADMIN))
    url = reverse("admin:telephony_entity_delete", args=[entity.pk])
    assert not client.get(url).context["perms_lacking"]
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Entity.objects.exists() and not NumberInterval.objects.exists()


def test_a_viewer_or_another_organization_deletes_nothing(tree, member, client, tenant):
    client.force_login(member(tree.reseller, Role.VIEWER))
    url = reverse("admin:telephony_tenant_delete", args=[tenant.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert client.get(url).status_code == 404 and client.post(url, {"post": "yes"}).status_code == 404
    assert Tenant.objects.exists()


def test_an_order_stays_as_a_record_when_its_tenant_is_deleted(tree, member, client, tenant):
    link = ConfiguratorLink.objects.create(organization=tree.reseller, name="R", base_url="http://127.0.0.1:9/")
    order = ConfiguratorOrder.objects.create(link=link, tenant=tenant, configuration={"version": 1},
                                             template=LineTemplateFactory(organization=tree.customer))  # fmt: skip
    client.force_login(member(tree.reseller, Role.ADMIN))
    client.post(reverse("admin:telephony_tenant_delete", args=[tenant.pk]), {"post": "yes"})
    order.refresh_from_db()
    assert order.tenant is None and "its tenant was deleted" in str(order)
    assert client.get(reverse("admin:telephony_configuratororder_change", args=[order.pk])).status_code == 200
