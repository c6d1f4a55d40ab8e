"""Numbers as ranges (issue 16, part 1): a DDI block added to a pool in one step and written in
bulk, checked whole first (E.164, one length, no clash anywhere in the portal, a size limit);
ranges and counts allocated to a tenant; numbers released in bulk; each pool's use at a glance;
a PBX user's numbers on its admin page and in the users list, assigned and released there."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telephony.models import PhoneNumber, ProvisioningJob, SyncState
from telephony.services import number_ranges as ranges
from tenants.models import Role
from tests.factories import (
    EntityFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
)


def numbers_of(organization) -> list[str]:
    return list(PhoneNumber.objects.filter(organization=organization).values_list("number", flat=True))


@pytest.fixture
def xc5_tenant(tree):
    """A tenant of the customer on an XC5 server (a user there may hold any number of DDIs)."""
    platform = PlatformFactory(organization=tree.distributor, kind="xc5", base_url="http://127.0.0.1:9/api-sys/")
    return TenantFactory(organization=tree.customer, server=ServerFactory(platform=platform), name="cust.x.co.nz")


# --- how a range is written ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, count, first, last",
    [
        ("+31 20 123 4500 – 4599", None, "+31201234500", "+31201234599"),
        ("+31 20 123 4500 - +31 20 123 4599", None, "+31201234500", "+31201234599"),
        ("+31201234500-4599", None, "+31201234500", "+31201234599"),
        ("0031 20 123 4500 .. 0031 20 123 4509", None, "+31201234500", "+31201234509"),
        ("+31 (20) 123-4500 to 4502", None, "+31201234500", "+31201234502"),
        ("+31 20 123 4500", 100, "+31201234500", "+31201234599"),
        ("+31 20 123 4500", None, "+31201234500", "+31201234500"),
        ("+31-20-123-4500", None, "+31201234500", "+31201234500"),  # hyphens grouping digits: one number
    ],
)
def test_a_range_as_staff_type_it(text, count, first, last):
    numbers = ranges.parse_range(text, count)
    assert (numbers.first, numbers.last) == (first, last)
    assert numbers.size == int(last[1:]) - int(first[1:]) + 1


@pytest.mark.parametrize(
    "text, count, message",
    [
        ("", None, "Enter the first number"),
        ("31 20 123 4500 – 4599", None, "not a number in E.164 form"),
        ("+31 20 123 4500 – +31 20 123 45999", None, "as many digits"),
        ("+31 20 123 4599 – 4500", None, "before it starts"),
        ("+31 20 123 4500 – 4599", 10, "either a range or a first number and a count"),
        ("+31 20 000 0000 – +31 20 999 9999", None, "at most 10,000 numbers"),
        ("+31 20 123 4500", 10_001, "at most 10,000 numbers"),
        ("+99999", 10, "one digit longer"),
    ],
)
def test_a_range_is_refused_with_a_clear_message(text, count, message):
    with pytest.raises(ValidationError) as refused:
        ranges.parse_range(text, count)
    assert message in " ".join(refused.value.messages)


# --- adding a range -------------------------------------------------------------------------------------


def test_ten_thousand_numbers_are_written_in_bulk_with_one_audit_entry_each(tree, superuser):
    numbers = ranges.parse_range("+31 20 700 0000", 10_000)
    with CaptureQueriesContext(connection) as queries:
        added = ranges.phone_number_range_add(actor=superuser, organization=tree.reseller, numbers=numbers)
    assert added == 10_000
    assert len(queries) < 60, "bulk statements, not a query per number"
    stored = PhoneNumber.objects.filter(organization=tree.reseller)
    assert stored.count() == 10_000
    assert set(stored.values_list("sync_state", flat=True)) == {SyncState.IN_SYNC}
    assert stored.order_by("number").first().number == "+31207000000"
    assert stored.order_by("number").last().number == "+31207009999"
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(PhoneNumber))
    assert entries.count() == 10_000
    entry = entries.get(object_repr="+31207000042")
    assert entry.action == LogEntry.Action.CREATE and entry.actor == superuser
    assert entry.additional_data == {"org": tree.reseller.pk, "via": "range +31207000000 – +31207009999"}


def test_a_range_can_be_allocated_and_labelled_as_it_is_added(tree, member):
    tenant = TenantFactory(organization=tree.customer)
    admin = member(tree.reseller, Role.ADMIN)
    numbers = ranges.parse_range("+31 20 123 4500 – 4509")
    ranges.phone_number_range_add(
        actor=admin, organization=tree.reseller, numbers=numbers, tenant=tenant, label="Reception block"
    )
    stored = PhoneNumber.objects.filter(organization=tree.reseller)
    assert stored.count() == 10
    assert set(stored.values_list("tenant", "label")) == {(tenant.pk, "Reception block")}


def test_an_overlap_anywhere_in_the_portal_is_refused_naming_the_first_clash(tree, member):
    PhoneNumberFactory(number="+31201234550", organization=tree.sibling)  # outside the login's scope
    PhoneNumberFactory(number="+31201234560", organization=tree.sibling)
    admin = member(tree.reseller, Role.ADMIN)
    with pytest.raises(ValidationError) as refused:
        ranges.phone_number_range_add(
            actor=admin, organization=tree.reseller, numbers=ranges.parse_range("+31 20 123 4500 – 4599")
        )
    message = " ".join(refused.value.messages)
    assert message.startswith("+31201234550 is not available (and 1 more of this range). Nothing was added.")
    assert "Sibling" not in message, "a number outside the login's scope is never said to be someone's"
    assert numbers_of(tree.reseller) == []


def test_a_clash_the_login_may_see_says_where_the_number_is(tree, member):
    tenant = TenantFactory(organization=tree.customer, name="acme")
    PhoneNumberFactory(number="+31201234503", organization=tree.reseller, tenant=tenant)
    admin = member(tree.reseller, Role.ADMIN)
    with pytest.raises(ValidationError, match=r"\+31201234503 is in the pool of Reseller, allocated to acme"):
        ranges.phone_number_range_add(
            actor=admin, organization=tree.reseller, numbers=ranges.parse_range("+31 20 123 4500 – 4509")
        )


def test_numbers_of_another_length_are_no_clash(tree, superuser):
    PhoneNumberFactory(number="+3120123450", organization=tree.reseller)  # sorts inside the range as text
    PhoneNumberFactory(number="+312012345000", organization=tree.reseller)
    ranges.phone_number_range_add(
        actor=superuser, organization=tree.reseller, numbers=ranges.parse_range("+31 20 123 4500 – 4599")
    )
    assert PhoneNumber.objects.count() == 102


def test_only_the_pool_s_managers_add_a_range_for_their_tenants(tree, member, superuser):
    customer_admin = member(tree.customer, Role.ADMIN)
    numbers = ranges.parse_range("+31 20 123 4500 – 4509")
    with pytest.raises(Http404):
        ranges.phone_number_range_add(actor=customer_admin, organization=tree.reseller, numbers=numbers)
    cousin = TenantFactory(organization=tree.sibling_customer)
    with pytest.raises(ValidationError, match="Choose one of your tenants"):
        ranges.phone_number_range_add(
            actor=member(tree.reseller, Role.ADMIN), organization=tree.reseller, numbers=numbers, tenant=cousin
        )
    with pytest.raises(ValidationError, match="not a tenant of Reseller"):
        ranges.phone_number_range_add(actor=superuser, organization=tree.reseller, numbers=numbers, tenant=cousin)
    assert not PhoneNumber.objects.exists()


# --- allocating ------------------------------------------------------------------------------------------


@pytest.fixture
def pool(tree, superuser):
    ranges.phone_number_range_add(
        actor=superuser, organization=tree.reseller, numbers=ranges.parse_range("+31 20 123 4500 – 4599")
    )
    return tree.reseller


def test_a_range_is_allocated_to_a_tenant(pool, tree, member):
    tenant = TenantFactory(organization=tree.customer, name="acme")
    admin = member(tree.reseller, Role.ADMIN)
    allocated = ranges.phone_numbers_allocate(
        actor=admin, organization=pool, tenant=tenant, numbers=ranges.parse_range("+31 20 123 4510 – 4519")
    )
    assert allocated == [f"+3120123451{n}" for n in range(10)]
    assert PhoneNumber.objects.filter(tenant=tenant).count() == 10
    entry = LogEntry.objects.filter(object_repr="+31201234515").latest("pk")
    assert entry.changes_dict == {"tenant": ["None", "acme"]}
    assert entry.additional_data["via"] == "allocation to acme"
    # again: the numbers are the tenant's already, nothing changes
    assert (
        ranges.phone_numbers_allocate(
            actor=admin, organization=pool, tenant=tenant, numbers=ranges.parse_range("+31 20 123 4510 – 4519")
        )
        == []
    )


def test_a_count_allocates_the_lowest_free_numbers(pool, tree, superuser):
    first = TenantFactory(organization=tree.customer)
    second = TenantFactory(organization=tree.customer)
    ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=first, count=3)
    allocated = ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=second, count=2)
    assert allocated == ["+31201234503", "+31201234504"]
    inside = ranges.phone_numbers_allocate(
        actor=superuser, organization=pool, tenant=second, count=2, numbers=ranges.parse_range("+31201234590-4599")
    )
    assert inside == ["+31201234590", "+31201234591"]
    with pytest.raises(ValidationError, match="Reseller's pool has 93 free numbers, not 500"):
        ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=second, count=500)


def test_an_allocation_is_refused_whole_naming_the_first_number_that_is_not_free(pool, tree, superuser):
    acme = TenantFactory(organization=tree.customer, name="acme")
    other = TenantFactory(organization=tree.customer, name="other")
    ranges.phone_numbers_allocate(
        actor=superuser, organization=pool, tenant=other, numbers=ranges.parse_range("+31201234520")
    )
    with pytest.raises(ValidationError, match=r"\+31201234520 is allocated to other already; release it first"):
        ranges.phone_numbers_allocate(
            actor=superuser, organization=pool, tenant=acme, numbers=ranges.parse_range("+31 20 123 4510 – 4529")
        )
    with pytest.raises(ValidationError, match=r"\+31201234600 is not in Reseller's pool"):
        ranges.phone_numbers_allocate(
            actor=superuser, organization=pool, tenant=acme, numbers=ranges.parse_range("+31 20 123 4590 – 4609")
        )
    assert not PhoneNumber.objects.filter(tenant=acme).exists()


# --- releasing in bulk, and a pool's use -----------------------------------------------------------------


def test_numbers_are_released_in_bulk_from_users_and_to_the_pool(pool, tree, superuser, xc5_tenant):
    user = PbxUserFactory(entity=EntityFactory(tenant=xc5_tenant), internal_number="1001")
    ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=xc5_tenant, count=10)
    held = list(PhoneNumber.objects.filter(tenant=xc5_tenant).order_by("number")[:3])
    for number in held:
        number.assigned_user = user
        number.save()
    PhoneNumber.objects.filter(pk=held[0].pk).update(is_pilot=True)

    done = ranges.phone_numbers_release(actor=superuser, numbers=PhoneNumber.objects.filter(tenant=xc5_tenant))
    assert (done.from_users, done.to_pool) == (3, 0)
    assert not PhoneNumber.objects.filter(assigned_user=user).exists()
    assert PhoneNumber.objects.filter(tenant=xc5_tenant).count() == 10
    unassigned = ProvisioningJob.objects.filter(operation="number.unassign")
    assert sorted(unassigned.values_list("target_label", flat=True)) == [n.number for n in held]

    done = ranges.phone_numbers_release(
        actor=superuser, numbers=PhoneNumber.objects.filter(tenant=xc5_tenant), to_pool=True
    )
    assert (done.from_users, done.to_pool) == (0, 10)
    assert not PhoneNumber.objects.filter(tenant=xc5_tenant).exists()
    assert not PhoneNumber.objects.filter(is_pilot=True).exists()


def test_a_bulk_release_the_login_may_not_make_is_refused_whole(pool, tree, member, superuser):
    tenant = TenantFactory(organization=tree.customer)
    ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=tenant, count=5)
    customer_admin = member(tree.customer, Role.ADMIN)
    with pytest.raises(ValidationError, match="Only the managers of Reseller's pool may return"):
        ranges.phone_numbers_release(
            actor=customer_admin, numbers=PhoneNumber.objects.filter(tenant=tenant), to_pool=True
        )
    assert PhoneNumber.objects.filter(tenant=tenant).count() == 5


def test_a_pool_s_use_at_a_glance(pool, tree, superuser, member):
    tenant = TenantFactory(organization=tree.customer)
    user = PbxUserFactory(entity=EntityFactory(tenant=tenant), internal_number="1001")
    ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=tenant, count=20)
    PhoneNumber.objects.filter(number="+31201234500").update(assigned_user=user)
    PhoneNumberFactory(organization=tree.sibling)
    [use] = ranges.pool_usage(member(tree.reseller, Role.VIEWER))
    assert (use.organization, use.free, use.allocated, use.assigned, use.total) == ("Reseller", 80, 19, 1, 100)
    assert len(ranges.pool_usage(superuser)) == 2


# --- the admin ------------------------------------------------------------------------------------------------


def test_staff_add_a_range_and_allocate_from_the_numbers_list(tree, member, client):
    tenant = TenantFactory(organization=tree.customer, name="acme")
    client.force_login(member(tree.reseller, Role.ADMIN, is_staff=True))
    changelist = reverse("admin:telephony_phonenumber_changelist")
    page = client.get(changelist)
    assert reverse("admin:telephony_phonenumber_range") in page.content.decode()

    response = client.post(
        reverse("admin:telephony_phonenumber_range"),
        {"organization": tree.reseller.pk, "numbers": "+31 20 123 4500 – 4599", "label": "Block A"},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert PhoneNumber.objects.filter(organization=tree.reseller, label="Block A").count() == 100

    refused = client.post(
        reverse("admin:telephony_phonenumber_range"),
        {"organization": tree.reseller.pk, "numbers": "+31 20 123 4590", "count": "20"},
    )
    assert refused.status_code == 200
    assert "+31201234590 is in the pool of Reseller (and 9 more of this range)" in refused.content.decode()

    response = client.post(
        reverse("admin:telephony_phonenumber_allocate"),
        {"organization": tree.reseller.pk, "tenant": tenant.pk, "count": "25"},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert PhoneNumber.objects.filter(tenant=tenant).count() == 25

    page = client.get(changelist, follow=True)
    pools = page.context["pools"]
    assert [(p["use"].free, p["use"].allocated, p["use"].assigned) for p in pools] == [(75, 25, 0)]
    body = page.content.decode()
    assert 'id="pool-use"' in body and "?pool=" in pools[0]["links"]["free"]
    only_free = client.get(pools[0]["links"]["free"])
    assert only_free.context["cl"].result_count == 75
    searched = client.get(changelist, {"q": "4500"})  # the numbers found, without the pools' overview
    assert searched.context["cl"].result_count == 1 and 'id="pool-use"' not in searched.content.decode()
    assert searched.context["cl"].filter_specs  # the pool filter still offers the pools


def test_a_viewer_gets_no_range_pages(tree, member, client):
    client.force_login(member(tree.reseller, Role.VIEWER, is_staff=True))
    page = client.get(reverse("admin:telephony_phonenumber_changelist"))
    assert reverse("admin:telephony_phonenumber_range") not in page.content.decode()
    assert client.get(reverse("admin:telephony_phonenumber_range")).status_code == 404
    assert client.get(reverse("admin:telephony_phonenumber_allocate")).status_code == 404


def test_numbers_are_returned_to_the_pool_by_an_action(pool, tree, member, client, superuser):
    tenant = TenantFactory(organization=tree.customer)
    allocated = ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=tenant, count=4)
    client.force_login(member(tree.reseller, Role.ADMIN, is_staff=True))
    chosen = PhoneNumber.objects.filter(number__in=allocated)
    response = client.post(
        reverse("admin:telephony_phonenumber_changelist"),
        {"action": "return_to_pool", "_selected_action": [str(n.pk) for n in chosen]},
        follow=True,
    )
    assert "4 back in their pool" in response.content.decode()
    assert not PhoneNumber.objects.filter(tenant=tenant).exists()


def test_a_user_s_page_and_list_show_its_numbers_and_assign_and_release_them(tree, member, client, superuser, pool,
                                                                             xc5_tenant):  # fmt: skip
    user = PbxUserFactory(entity=EntityFactory(tenant=xc5_tenant), internal_number="1001", username="ada")
    ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=xc5_tenant, count=5)
    client.force_login(member(tree.customer, Role.ADMIN, is_staff=True))
    change = reverse("admin:telephony_pbxuser_change", args=[user.pk])
    page = client.get(change)
    assert '<option value="+31201234500">' in page.content.decode(), "the tenant's free numbers are suggested"
    data = {
        name: value
        for name, value in page.context["adminform"].form.initial.items()
        if value is not None and name not in ("release_numbers",)
    }
    data.update({"assign_numbers": "+31 20 123 4500 – 4501, +31201234504", "new_voicemail_pin": ""})
    response = client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert sorted(user.phone_numbers.values_list("number", flat=True)) == [
        "+31201234500",
        "+31201234501",
        "+31201234504",
    ]
    assert ProvisioningJob.objects.filter(operation="number.assign").count() == 3
    assert not ProvisioningJob.objects.filter(operation="user.update").exists(), "only numbers changed"

    listing = client.get(reverse("admin:telephony_pbxuser_changelist"))
    assert "+31201234500, +31201234501, +31201234504" in listing.content.decode()

    page = client.get(change)
    assert "+31201234500" in page.content.decode()
    released = user.phone_numbers.get(number="+31201234501")
    data["assign_numbers"] = ""
    data["release_numbers"] = [str(released.pk)]
    response = client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert sorted(user.phone_numbers.values_list("number", flat=True)) == ["+31201234500", "+31201234504"]
    released.refresh_from_db()
    assert released.tenant == xc5_tenant and released.assigned_user is None
    assert ProvisioningJob.objects.filter(operation="number.unassign").count() == 1

    data["release_numbers"] = []
    data["assign_numbers"] = "+31201234599"  # in the pool, not the tenant's
    refused = client.post(change, data)
    assert refused.status_code == 200
    assert "+31201234599 is not a free number of cust.x.co.nz" in refused.content.decode()


def test_users_get_and_lose_numbers_from_the_users_list(tree, member, client, superuser, pool, xc5_tenant):
    entity = EntityFactory(tenant=xc5_tenant)
    first = PbxUserFactory(entity=entity, internal_number="1001")
    second = PbxUserFactory(entity=entity, internal_number="1002")
    ranges.phone_numbers_allocate(actor=superuser, organization=pool, tenant=xc5_tenant, count=1)
    client.force_login(member(tree.customer, Role.ADMIN, is_staff=True))
    changelist = reverse("admin:telephony_pbxuser_changelist")
    response = client.post(
        changelist, {"action": "give_free_number", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    body = response.content.decode()
    assert "1 numbers assigned" in body and "has no free number" in body
    assert list(first.phone_numbers.values_list("number", flat=True)) == ["+31201234500"]
    response = client.post(
        changelist, {"action": "release_all_numbers", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert "1 numbers taken off their users" in response.content.decode()
    assert not PhoneNumber.objects.filter(assigned_user__isnull=False).exists()


# --- the demo -------------------------------------------------------------------------------------------------


def test_the_demo_s_xc5_customer_has_numbers_to_try(db):
    from portal.demo import load_demo
    from telephony.models import PbxUser, Tenant

    load_demo()
    initech = Tenant.objects.get(name="initech.x.co.nz")
    numbers = PhoneNumber.objects.filter(tenant=initech).order_by("number")
    assert [n.number for n in numbers] == [f"+64912312{n:02}" for n in range(10)]
    assert numbers[0].is_pilot and numbers[0].assigned_user is None, "the environment's main number"
    peter = PbxUser.objects.get(username="peter")
    assert list(peter.phone_numbers.values_list("number", flat=True)) == ["+6491231201"]
    assert PhoneNumber.objects.filter(organization__name="Callhub", tenant__isnull=True).count() == 10
    pushes = set(ProvisioningJob.objects.filter(tenant=initech).values_list("operation", flat=True))
    assert {"number.pilot", "number.assign"} <= pushes
    # loading again changes nothing, even after a number was moved by hand
    PhoneNumber.objects.filter(number="+6491231205").update(tenant=None)
    load_demo()
    assert PhoneNumber.objects.filter(tenant=initech).count() == 9
