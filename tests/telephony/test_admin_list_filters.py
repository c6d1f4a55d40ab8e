"""The jobs list's filters never scan the jobs for their choices: a status, a platform of the
login's, an operation the engine knows, a date range, and the tenant or batch a link chose (named
in the sidebar once chosen, looked up in the login's scope)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telephony.admin.numbers import POOLS_LISTED
from telephony.models import PbxUser, ProvisioningBatch, ProvisioningJob
from telephony.services.users import pbx_user_create
from tenants.models import Organization, Role
from tests.factories import OrganizationFactory, PhoneNumberFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db

JOBS = "admin:telephony_provisioningjob_changelist"


@pytest.fixture
def worlds(tree, superuser):
    """A job in the customer's tenant (a hostile tenant name) and one in the sibling's."""
    ours = xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)
    theirs = xcu_world("http://127.0.0.1:8/api/1.0/", tree.sibling, tree.sibling_customer)
    ours.tenant.name = "<img src=x onerror=alert(1)>{{ secret }}"
    ours.tenant.save(update_fields=["name"])
    for world, number in ((ours, "1701"), (theirs, "1702")):
        pbx_user_create(
            actor=superuser,
            user=PbxUser(
                tenant=world.tenant, entity=world.entity, template=world.template, username=f"u{number}",
                first_name="Ada", last_name="Lovelace", internal_number=number,
            ),
        )  # fmt: skip
    return ours, theirs


def listed(client, query: str = "") -> list[ProvisioningJob]:
    return list(client.get(reverse(JOBS) + query).context["cl"].result_list)


def test_no_filter_reads_the_jobs_for_its_choices(tree, member, client, worlds):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(JOBS)).status_code == 200
    scans = [q["sql"] for q in queries if "DISTINCT" in q["sql"] and "telephony_provisioningjob" in q["sql"]]
    assert scans == []
    assert not [q["sql"] for q in queries if "MIN(" in q["sql"] or "MAX(" in q["sql"]], "no date hierarchy"


def test_each_filter_keeps_to_the_login_s_jobs(tree, member, client, worlds):
    ours, theirs = worlds
    client.force_login(member(tree.reseller, Role.OPERATOR))
    mine = ProvisioningJob.objects.filter(tenant=ours.tenant, operation="user.create").get()
    assert listed(client, "?operation=user.create") == [mine]
    assert listed(client, "?operation=tenant.delete") == []
    assert listed(client, f"?platform__id__exact={ours.platform.pk}") == [mine]
    assert listed(client, f"?platform__id__exact={theirs.platform.pk}") == []
    assert mine in listed(client, "?created_at__gte=2000-01-01+00:00:00%2B00:00")
    assert listed(client, f"?tenant__id__exact={theirs.tenant.pk}") == []
    assert listed(client, "?tenant__id__exact=1%20OR%201=1") == []


def test_a_chosen_tenant_is_named_in_the_sidebar_as_text_and_another_s_is_not(tree, member, client, worlds):
    ours, theirs = worlds
    client.force_login(member(tree.reseller, Role.OPERATOR))
    page = client.get(reverse(JOBS) + f"?tenant__id__exact={ours.tenant.pk}").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;{{ secret }}" in page and "<img src=x" not in page
    foreign = client.get(reverse(JOBS) + f"?tenant__id__exact={theirs.tenant.pk}").content.decode()
    assert f">{theirs.tenant.name}<" not in foreign


def test_the_platform_choices_are_the_login_s_platforms(tree, member, client, worlds):
    ours, theirs = worlds
    client.force_login(member(tree.reseller, Role.OPERATOR))
    page = client.get(reverse(JOBS)).content.decode()
    assert f"platform__id__exact={ours.platform.pk}" in page
    assert f"platform__id__exact={theirs.platform.pk}" not in page


def test_a_batch_link_lists_the_batch_s_jobs(tree, member, client, worlds, superuser):
    ours, _theirs = worlds
    batch = ProvisioningBatch.objects.create(organization=tree.customer, label="March import", created_by=superuser)
    job = ProvisioningJob.objects.filter(tenant=ours.tenant).first()
    ProvisioningJob.objects.filter(pk=job.pk).update(batch=batch)
    client.force_login(member(tree.reseller, Role.OPERATOR))
    response = client.get(reverse(JOBS) + f"?batch__id__exact={batch.pk}")
    assert list(response.context["cl"].result_list) == [job] and "March import" in response.content.decode()


def test_the_users_list_sorts_by_what_an_index_serves(tree, member, client, worlds):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:telephony_pbxuser_changelist")).status_code == 200
    page = [q["sql"] for q in queries if q["sql"].startswith('SELECT "telephony_pbxuser"."id"')]
    assert page and 'ORDER BY "telephony_pbxuser"."tenant_id" ASC, "telephony_pbxuser"."internal_number" ASC' in page[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL weighs the indexes by its statistics")
def test_a_reseller_s_pending_users_are_read_along_the_sync_state_index(tree, member, client, worlds):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/api/v1/pbx-users/", {"sync_state": "pending"})
    assert answer.status_code == 200
    [listed] = [q["sql"] for q in queries if q["sql"].startswith('SELECT "telephony_pbxuser"."id"')]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {listed}")
        plan = " ".join(str(column) for row in cursor.fetchall() for column in row)
    # in key order, the scope checked on each: not every user of the reseller's tenants, then sorted
    assert "pbxuser_sync_state" in plan and "TEMP B-TREE" not in plan, plan


def test_the_numbers_list_reads_its_pools_once_for_the_summary_and_the_filter(tree, member, client, worlds):
    PhoneNumberFactory(organization=tree.reseller)
    PhoneNumberFactory(organization=tree.sibling)
    client.force_login(member(tree.reseller, Role.OPERATOR))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("admin:telephony_phonenumber_changelist"))
    assert page.status_code == 200
    grouped = [q["sql"] for q in queries if "telephony_phonenumber" in q["sql"] and "GROUP BY" in q["sql"]]
    distinct = [q["sql"] for q in queries if "telephony_phonenumber" in q["sql"] and "DISTINCT" in q["sql"]]
    assert len(grouped) == 1 and distinct == []
    assert [pool["use"].organization for pool in page.context["pools"]] == ["Reseller"]
    assert not page.context["more_pools"]


def test_a_reseller_with_a_pool_per_customer_sees_the_first_pools_and_the_one_it_chose(tree, member, client):
    customers = [
        OrganizationFactory(parent=Organization.objects.get(pk=tree.reseller.pk), name=f"Pool {index:02}")
        for index in range(POOLS_LISTED + 2)
    ]
    for customer in customers:
        PhoneNumberFactory(organization=customer)
    PhoneNumberFactory(organization=tree.sibling_customer)  # another reseller's pool: never named
    client.force_login(member(tree.reseller, Role.VIEWER))
    url = reverse("admin:telephony_phonenumber_changelist")
    page = client.get(url)
    named = [pool["use"].organization for pool in page.context["pools"]]
    assert named == [f"Pool {index:02}" for index in range(POOLS_LISTED)]
    assert page.context["more_pools"] and f"Only the first {POOLS_LISTED} pools by name" in page.content.decode()
    last = customers[-1]
    chosen = client.get(url, {"pool": last.pk})
    assert [pool["use"].organization for pool in chosen.context["pools"]][-1] == last.name
    assert [row.organization_id for row in chosen.context["cl"].result_list] == [last.pk]
    for foreign in (tree.sibling_customer.pk, 10**30, "x", "١٢"):  # another's pool, no key: nothing
        answer = client.get(url, {"pool": foreign})
        assert answer.status_code == 200
        assert list(answer.context["cl"].result_list) == []
        assert "Sibling" not in " ".join(pool["use"].organization for pool in answer.context["pools"])
