"""Issue 17: phone numbers and pools in the REST API. Numbers are read in the login's scope; a range
is added to a pool, allocated to a tenant (a range or a count) and released in bulk by the same
services as the admin's number pages; a user's numbers, under the user (/pbx-users/{id}/numbers/),
are assigned and released one by one. Bad input answers 400 field → messages and changes nothing;
another organization's id answers as an id that does not exist; a viewer or a read-only token never
writes."""

from __future__ import annotations

import pytest

from portal.api.models import IdempotentRequest
from telephony.models import PhoneNumber, ProvisioningJob
from tenants.models import Role
from tests.factories import PhoneNumberFactory
from tests.portal.api.test_tokens_and_scope import API, bearer, token_of

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"
TEMPLATE = "{{ 7|add:1 }}"


def post(client, raw, url, body):
    return client.post(f"{API}/{url}", body, content_type="application/json", **bearer(raw))


def ids_of(answer) -> set[int]:
    assert answer.status_code == 200, answer.content
    return {row["id"] for row in answer.json()["results"]}


@pytest.fixture
def pool_admin(customer, tree, member):
    """An administrator of the reseller, whose pool holds the customer's numbers."""
    return member(tree.reseller, Role.ADMIN)


def customer_numbers(customer) -> list[PhoneNumber]:
    return [*customer.numbers_taken, *customer.free_numbers]


# --- reading ----------------------------------------------------------------------------------------


def test_the_owner_lists_and_reads_its_numbers(client, customer, sibling, tree):
    raw = token_of(customer.admin)
    assert ids_of(client.get(f"{API}/phone-numbers/", **bearer(raw))) == {n.pk for n in customer_numbers(customer)}
    taken = customer.numbers_taken[0]
    answer = client.get(f"{API}/phone-numbers/{taken.pk}/", **bearer(raw))
    assert answer.status_code == 200 and answer["ETag"]
    row = answer.json()
    assert row["number"] == taken.number and row["organization"] == tree.reseller.pk
    assert (row["tenant"], row["assigned_user"], row["status"]) == (
        customer.tenant.pk,
        customer.users[0].pk,
        "assigned",
    )
    assert row["is_pilot"] is False and "sync_state" in row


def test_the_numbers_filter_by_status_tenant_user_and_search(client, customer):
    raw = token_of(customer.admin)
    taken, free = customer.numbers_taken[0], customer.free_numbers

    def listed(**query):
        return ids_of(client.get(f"{API}/phone-numbers/", query, **bearer(raw)))

    assert listed(status="assigned") == {taken.pk}
    assert listed(status="allocated") == {n.pk for n in free}
    assert listed(status="free") == set()
    assert listed(assigned_user=customer.users[0].pk) == {taken.pk}
    assert listed(tenant=customer.tenant.pk) == {n.pk for n in customer_numbers(customer)}
    assert listed(search=free[1].number) == {free[1].pk}
    bad = client.get(f"{API}/phone-numbers/", {"status": "gone"}, **bearer(raw))
    assert bad.status_code == 400 and "status" in bad.json()


def test_another_organization_s_number_answers_as_a_missing_one(client, customer, sibling):
    raw = token_of(customer.admin)
    theirs = client.get(f"{API}/phone-numbers/{sibling.numbers_taken[0].pk}/", **bearer(raw))
    missing = client.get(f"{API}/phone-numbers/99999999/", **bearer(raw))
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())
    for query in ({"tenant": sibling.tenant.pk}, {"assigned_user": sibling.users[0].pk}):
        assert ids_of(client.get(f"{API}/phone-numbers/", query, **bearer(raw))) == set()
    assert (
        ids_of(client.get(f"{API}/phone-numbers/", {"search": sibling.free_numbers[0].number}, **bearer(raw))) == set()
    )


def test_each_pool_s_use_is_counted(client, customer, sibling, tree, pool_admin, member):
    PhoneNumberFactory(organization=tree.reseller)  # one free number in the pool
    raw = token_of(pool_admin)
    answer = client.get(f"{API}/number-pools/", **bearer(raw))
    assert answer.status_code == 200
    assert answer.json()["results"] == [
        {"id": tree.reseller.pk, "name": tree.reseller.name, "free": 1, "allocated": 3, "assigned": 1, "total": 5}
    ]
    detail = client.get(f"{API}/number-pools/{tree.reseller.pk}/", **bearer(raw))
    assert detail.status_code == 200 and detail.json()["total"] == 5
    theirs = client.get(f"{API}/number-pools/{tree.sibling.pk}/", **bearer(raw))
    missing = client.get(f"{API}/number-pools/99999999/", **bearer(raw))
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())
    # the customer's administrator reads no pool above its own organization
    assert client.get(f"{API}/number-pools/", **bearer(token_of(customer.admin))).json()["results"] == []


# --- adding a range --------------------------------------------------------------------------------------


def test_a_range_is_added_to_a_pool_with_its_label_as_plain_text(client, customer, tree, pool_admin):
    raw = token_of(pool_admin)
    answer = post(
        client,
        raw,
        "phone-numbers/add-range/",
        {"organization": tree.reseller.pk, "numbers": "+31 20 999 4500 – 4509", "label": HOSTILE},
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json() == {
        "added": 10,
        "range": "+31209994500 – +31209994509",
        "first": "+31209994500",
        "last": "+31209994509",
        "organization": tree.reseller.pk,
        "tenant": None,
    }
    added = PhoneNumber.objects.filter(number__startswith="+3120999450")
    assert added.count() == 10 and {n.label for n in added} == {HOSTILE}
    listed = client.get(f"{API}/phone-numbers/", {"status": "free"}, **bearer(raw))
    assert listed["Content-Type"].startswith("application/json")
    assert {row["label"] for row in listed.json()["results"]} == {HOSTILE}


def test_a_first_number_and_a_count_allocated_at_once(client, customer, tree, pool_admin):
    raw = token_of(pool_admin)
    answer = post(
        client,
        raw,
        "phone-numbers/add-range/",
        {
            "organization": tree.reseller.pk,
            "numbers": "+31209994600",
            "count": 5,
            "tenant": customer.tenant.pk,
            "label": TEMPLATE,
        },
    )
    assert answer.status_code == 201 and answer.json()["added"] == 5
    made = PhoneNumber.objects.filter(number__startswith="+3120999460")
    assert made.count() == 5 and {(n.tenant_id, n.label) for n in made} == {(customer.tenant.pk, TEMPLATE)}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"numbers": "+31 20 999 4500 – 4499"}, "numbers"),
        ({"numbers": "not a number"}, "numbers"),
        ({"numbers": "+31 20 999 4500 – 4599", "count": 3}, "numbers"),
        ({"numbers": "+31 20 999 0000", "count": 10_001}, "count"),
        ({"numbers": ""}, "numbers"),
        ({"organization": 99999999}, "organization"),
    ],
)
def test_a_bad_range_says_which_field_and_adds_nothing(client, tree, pool_admin, body, field):
    before = PhoneNumber.objects.count()
    answer = post(
        client,
        token_of(pool_admin),
        "phone-numbers/add-range/",
        {"organization": tree.reseller.pk, "numbers": "+31 20 999 4500 – 4509", **body},
    )
    assert answer.status_code == 400 and field in answer.json(), answer.json()
    assert PhoneNumber.objects.count() == before


def test_a_range_that_clashes_adds_nothing(client, customer, tree, pool_admin):
    taken = customer.free_numbers[0].number
    before = PhoneNumber.objects.count()
    answer = post(
        client,
        token_of(pool_admin),
        "phone-numbers/add-range/",
        {"organization": tree.reseller.pk, "numbers": taken, "count": 3},
    )
    assert answer.status_code == 400 and taken in answer.json()["numbers"][0]
    assert PhoneNumber.objects.count() == before


def test_another_organization_s_pool_or_tenant_in_a_body_is_a_missing_one(client, customer, sibling, tree, pool_admin):
    raw = token_of(pool_admin)
    body = {"organization": tree.reseller.pk, "numbers": "+31209994700", "count": 2}
    for field, theirs_id in [("organization", tree.sibling.pk), ("tenant", sibling.tenant.pk)]:
        theirs = post(client, raw, "phone-numbers/add-range/", {**body, field: theirs_id})
        missing = post(client, raw, "phone-numbers/add-range/", {**body, field: 99999999})
        assert theirs.status_code == missing.status_code == 400
        assert theirs.json()[field] == [m.replace("99999999", str(theirs_id)) for m in missing.json()[field]]
    assert not PhoneNumber.objects.filter(number__startswith="+3120999470").exists()


# --- allocating ------------------------------------------------------------------------------------------


def test_a_count_of_free_numbers_is_allocated_to_a_tenant(client, customer, tree, pool_admin):
    free = [PhoneNumberFactory(organization=tree.reseller, number=f"+3120888000{i}") for i in range(4)]
    answer = post(
        client,
        token_of(pool_admin),
        "phone-numbers/allocate/",
        {"organization": tree.reseller.pk, "tenant": customer.tenant.pk, "count": 3},
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "allocated": 3,
        "numbers": [n.number for n in free[:3]],
        "organization": tree.reseller.pk,
        "tenant": customer.tenant.pk,
    }
    assert set(
        PhoneNumber.objects.filter(tenant=customer.tenant, number__startswith="+3120888").values_list(
            "number", flat=True
        )
    ) == {n.number for n in free[:3]}


def test_a_range_is_allocated_and_too_many_allocates_nothing(client, customer, tree, pool_admin):
    for i in range(4):
        PhoneNumberFactory(organization=tree.reseller, number=f"+3120888101{i}")
    raw = token_of(pool_admin)
    body = {"organization": tree.reseller.pk, "tenant": customer.tenant.pk}
    refused = post(client, raw, "phone-numbers/allocate/", {**body, "count": 5})
    assert refused.status_code == 400 and "count" in refused.json()
    assert not PhoneNumber.objects.filter(tenant__isnull=False, number__startswith="+3120888").exists()
    done = post(client, raw, "phone-numbers/allocate/", {**body, "numbers": "+31 20 888 1011 – 1012"})
    assert done.status_code == 200 and done.json()["numbers"] == ["+31208881011", "+31208881012"]
    nothing = post(client, raw, "phone-numbers/allocate/", body)
    assert nothing.status_code == 400 and "count" in nothing.json()


def test_a_pool_s_name_in_a_message_is_plain_text(client, customer, tree, pool_admin):
    tree.reseller.name = HOSTILE + TEMPLATE
    tree.reseller.save()
    answer = post(
        client,
        token_of(pool_admin),
        "phone-numbers/allocate/",
        {"organization": tree.reseller.pk, "tenant": customer.tenant.pk, "count": 2},
    )
    assert answer.status_code == 400 and answer["Content-Type"].startswith("application/json")
    assert answer.json()["count"][0].startswith(HOSTILE + TEMPLATE)


# --- releasing -------------------------------------------------------------------------------------------


def test_numbers_are_released_from_their_users_by_id(client, customer):
    taken = customer.numbers_taken[0]
    answer = post(
        client,
        token_of(customer.admin),
        "phone-numbers/release/",
        {"ids": [taken.pk, customer.free_numbers[0].pk]},
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"from_users": 1, "to_pool": 0, "numbers": [taken.number]}
    taken.refresh_from_db()
    assert taken.assigned_user_id is None and taken.tenant_id == customer.tenant.pk


def test_a_range_is_returned_to_its_pool_by_the_pool_s_managers_only(client, customer, pool_admin):
    numbers = sorted(n.number for n in customer_numbers(customer))
    body = {"numbers": f"{numbers[0]} – {numbers[-1]}", "to_pool": True}
    refused = post(client, token_of(customer.admin), "phone-numbers/release/", body)
    assert refused.status_code == 400 and "non_field_errors" in refused.json()
    assert PhoneNumber.objects.filter(tenant=customer.tenant).count() == 4
    answer = post(client, token_of(pool_admin), "phone-numbers/release/", body)
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"from_users": 1, "to_pool": 4, "numbers": numbers}
    assert not PhoneNumber.objects.filter(tenant=customer.tenant).exists()


def test_a_bad_release_says_which_field_and_releases_nothing(client, customer, sibling):
    raw = token_of(customer.admin)
    assert "ids" in post(client, raw, "phone-numbers/release/", {}).json()
    nowhere = post(client, raw, "phone-numbers/release/", {"numbers": "+31 99 000 0000 – 0009"})
    assert nowhere.status_code == 400 and "numbers" in nowhere.json()
    foreign = sibling.numbers_taken[0].pk
    theirs = post(client, raw, "phone-numbers/release/", {"ids": [foreign]})
    missing = post(client, raw, "phone-numbers/release/", {"ids": [99999999]})
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["ids"] == [m.replace("99999999", str(foreign)) for m in missing.json()["ids"]]
    assert PhoneNumber.objects.get(pk=foreign).assigned_user_id == sibling.users[0].pk


# --- a user's numbers: /pbx-users/{id}/numbers/ -------------------------------------------------------


def numbers_of(client, raw, user) -> list[dict]:
    answer = client.get(f"{API}/pbx-users/{user.pk}/numbers/", **bearer(raw))
    assert answer.status_code == 200, answer.content
    assert answer.json()["user"] == user.pk
    return answer.json()["numbers"]


def test_a_user_s_numbers_are_read_assigned_and_released(client, customer):
    raw = token_of(customer.admin)
    first, second, free = customer.users[0], customer.users[1], customer.free_numbers[0]
    taken = customer.numbers_taken[0]
    assert numbers_of(client, raw, first) == [
        {"id": taken.pk, "number": taken.number, "is_pilot": taken.is_pilot, "label": taken.label}
    ]
    assert numbers_of(client, raw, second) == []
    spaced = free.number[:3] + " " + free.number[3:]
    assigned = post(client, raw, f"pbx-users/{second.pk}/numbers/assign/", {"number": spaced})
    assert assigned.status_code == 200, assigned.json()
    assert assigned.json()["user"] == second.pk and [n["id"] for n in assigned.json()["numbers"]] == [free.pk]
    free.refresh_from_db()
    assert free.assigned_user_id == second.pk
    assert [n["id"] for n in numbers_of(client, raw, second)] == [free.pk]
    assert client.get(f"{API}/pbx-users/{second.pk}/", **bearer(raw)).json()["numbers"] == [free.number]
    released = post(client, raw, f"pbx-users/{second.pk}/numbers/release/", {"number": free.pk})
    assert released.status_code == 200 and released.json() == {"user": second.pk, "numbers": []}
    free.refresh_from_db()
    assert free.assigned_user_id is None and free.tenant_id == customer.tenant.pk


def test_the_old_top_level_resource_is_gone(client, customer):
    raw = token_of(customer.admin)
    assert client.get(f"{API}/pbx-user-numbers/", **bearer(raw)).status_code == 404


def test_a_user_s_number_refusals_come_back_field_by_field(client, customer):
    raw = token_of(customer.admin)
    second, taken = customer.users[1], customer.numbers_taken[0]
    answer = post(client, raw, f"pbx-users/{second.pk}/numbers/assign/", {"number": taken.pk})
    assert answer.status_code == 400 and taken.number in answer.json()["number"][0]
    answer = post(client, raw, f"pbx-users/{second.pk}/numbers/release/", {"number": taken.number})
    assert answer.status_code == 400 and "number" in answer.json()
    for body in ({"number": True}, {"number": ""}, {}):
        assert post(client, raw, f"pbx-users/{second.pk}/numbers/assign/", body).status_code == 400
    taken.refresh_from_db()
    assert taken.assigned_user_id == customer.users[0].pk


def test_another_organization_s_user_or_number_is_a_missing_one(client, customer, sibling):
    raw = token_of(customer.admin)
    foreign_user = sibling.users[0].pk
    theirs = client.get(f"{API}/pbx-users/{foreign_user}/numbers/", **bearer(raw))
    missing = client.get(f"{API}/pbx-users/99999999/numbers/", **bearer(raw))
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())
    for verb in ("assign", "release"):
        body = {"number": customer.free_numbers[0].pk}
        theirs = post(client, raw, f"pbx-users/{foreign_user}/numbers/{verb}/", body)
        missing = post(client, raw, f"pbx-users/99999999/numbers/{verb}/", body)
        assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())
    foreign_number = sibling.free_numbers[0]
    for verb in ("assign", "release"):
        for reference, absent in [(foreign_number.pk, 99999999), (foreign_number.number, "+31999999999")]:
            url = f"pbx-users/{customer.users[1].pk}/numbers/{verb}/"
            theirs = post(client, raw, url, {"number": reference})
            missing = post(client, raw, url, {"number": absent})
            assert theirs.status_code == missing.status_code == 400
            assert theirs.json()["number"] == [m.replace(str(absent), str(reference)) for m in missing.json()["number"]]
    foreign_number.refresh_from_db()
    assert foreign_number.assigned_user_id is None
    assert sibling.numbers_taken[0].assigned_user_id == sibling.users[0].pk


def test_a_viewer_reads_a_user_s_numbers_and_is_refused_changing_them(client, customer, viewer):
    raw = token_of(viewer)
    assert len(numbers_of(client, raw, customer.users[0])) == 1
    free, taken = customer.free_numbers[0], customer.numbers_taken[0]
    for url, body in [
        (f"pbx-users/{customer.users[1].pk}/numbers/assign/", {"number": free.pk}),
        (f"pbx-users/{customer.users[0].pk}/numbers/release/", {"number": taken.pk}),
    ]:
        answer = post(client, raw, url, body)
        assert answer.status_code == 403, (url, answer.status_code)
    free.refresh_from_db()
    taken.refresh_from_db()
    assert (free.assigned_user_id, taken.assigned_user_id) == (None, customer.users[0].pk)


def test_an_assign_retried_with_its_idempotency_key_is_answered_again(client, customer):
    raw = token_of(customer.admin)
    second, free = customer.users[1], customer.free_numbers[0]
    url = f"{API}/pbx-users/{second.pk}/numbers/assign/"

    def assign(key, number):
        return client.post(
            url, {"number": number}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **bearer(raw)
        )

    first = assign("assign-1", free.pk)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first
    jobs = ProvisioningJob.objects.count()
    # the number is released in between: a retry still gets the first answer, and assigns nothing again
    post(client, raw, f"pbx-users/{second.pk}/numbers/release/", {"number": free.pk})
    again = assign("assign-1", free.pk)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    free.refresh_from_db()
    assert free.assigned_user_id is None
    assert ProvisioningJob.objects.count() == jobs + 1, "only the release's push"
    other = assign("assign-1", customer.free_numbers[1].pk)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()
    refused = assign("assign-2", customer.numbers_taken[0].pk)
    assert refused.status_code == 400
    assert not IdempotentRequest.objects.filter(key="assign-2").exists(), "a refusal keeps no key"


# --- who may write ---------------------------------------------------------------------------------------


def test_a_viewer_and_a_read_only_token_never_write(client, customer, tree, viewer, pool_admin):
    PhoneNumberFactory(organization=tree.reseller, number="+31208880000")
    writes = [
        ("phone-numbers/add-range/", {"organization": customer.organization.pk, "numbers": "+31209994800", "count": 2}),
        ("phone-numbers/allocate/", {"organization": tree.reseller.pk, "tenant": customer.tenant.pk, "count": 1}),
        ("phone-numbers/release/", {"ids": [customer.numbers_taken[0].pk], "to_pool": True}),
        (f"pbx-users/{customer.users[1].pk}/numbers/assign/", {"number": customer.free_numbers[0].pk}),
        (f"pbx-users/{customer.users[0].pk}/numbers/release/", {"number": customer.numbers_taken[0].pk}),
    ]
    before = sorted(PhoneNumber.objects.values_list("number", "tenant_id", "assigned_user_id"))
    for raw in (token_of(viewer), token_of(pool_admin, scope="read"), token_of(customer.admin, scope="read")):
        assert client.get(f"{API}/phone-numbers/", **bearer(raw)).status_code == 200
        for url, body in writes:
            answer = post(client, raw, url, body)
            assert answer.status_code in (400, 403, 404), (url, answer.status_code)
    assert sorted(PhoneNumber.objects.values_list("number", "tenant_id", "assigned_user_id")) == before
