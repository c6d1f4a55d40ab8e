"""Every job says whose change it is (its organization): a deleted tenant's jobs stay in its
customer's and reseller's job list, and a job of no tenant (a Configurator link's) is its
organization's, never another's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import ConfiguratorLink, ProvisioningJob
from telephony.provisioning import configurator_planning
from telephony.services.tenants import tenant_delete
from tenants.models import Role
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_deleted_tenants_jobs_stay_in_its_customers_history(tree, member, client):
    tenant = TenantFactory(organization=tree.customer, backend_ref={"xcu_id": 7})
    tenant_delete(actor=UserFactory(is_superuser=True), tenant=tenant)
    removal = ProvisioningJob.objects.get(operation="tenant.delete")
    assert removal.tenant is None and removal.organization == tree.customer
    client.force_login(member(tree.reseller, Role.OPERATOR))
    assert removal in client.get(reverse("admin:telephony_provisioningjob_changelist")).context["cl"].result_list
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert client.get(reverse("admin:telephony_provisioningjob_change", args=[removal.pk])).status_code == 404


def test_a_job_of_no_tenant_is_its_organizations(tree, member, client):
    link = ConfiguratorLink.objects.create(organization=tree.reseller, name="R", base_url="http://127.0.0.1:9/")
    [job] = configurator_planning.link_saved(link)
    assert job.organization == tree.reseller and job.tenant is None and job.platform is None
    client.force_login(member(tree.reseller, Role.VIEWER))
    assert client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk])).status_code == 200
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk])).status_code == 404
