"""Indexed user search (telephony/search.py) finds exactly what a plain `icontains` over the same
columns finds, on SQLite (FTS5 trigram table kept by triggers) and PostgreSQL (trigram indexes),
through creates, renames, bulk inserts and deletes, whatever the words hold."""

from __future__ import annotations

from functools import reduce
from operator import or_

import pytest
from django.db.models import Q
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.models import PbxUser
from telephony.provisioning.bulk import insert_rows, new_row_defaults
from telephony.search import USER_COLUMNS, search_users
from tests.factories import EntityFactory, LineTemplateFactory, MembershipFactory, PbxUserFactory, UserFactory

pytestmark = pytest.mark.django_db

NAMES = [
    ("Zwanenburg", "Anna", "anna.z@example.net"),
    ("de Vries", "Jan-Willem", "jw@devries.example"),
    ("O'Neill", "Seán", "sean@example.ie"),
    ('Quote"d', "Per%cent", "under_score@example.net"),
    ("Müller", "Jürgen", "jm@example.de"),
    ("NEAR", "OR", "and@example.net"),
]


def plain(text: str) -> set[int]:
    """What Django's icontains finds, word by word (DRF's SearchFilter)."""
    rows = PbxUser.objects.all()
    for word in text.split():
        rows = rows.filter(reduce(or_, (Q(**{f"{c}__icontains": word}) for c in USER_COLUMNS)))
    return set(rows.values_list("pk", flat=True))


def indexed(text: str) -> set[int]:
    return set(search_users(PbxUser.objects.all(), text).values_list("pk", flat=True))


@pytest.fixture
def users():
    entity = EntityFactory(intervals=[("1000", "1999")])
    template = LineTemplateFactory(organization=entity.tenant.organization)
    return [
        PbxUserFactory(
            entity=entity,
            template=template,
            last_name=last,
            first_name=first,
            email=email,
            username=f"user{index}",
            internal_number=str(1100 + index),
        )
        for index, (last, first, email) in enumerate(NAMES)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "zwanen",
        "ZWANENBURG",
        "anna zwan",
        "anna vries",
        "de",
        "a",
        "110",
        "1103",
        "example.net",
        "o'neill",
        'quote"d',
        '"',
        "per%cent",
        "%",
        "under_score",
        "_",
        "near",
        "OR",
        "NEAR(a b)",
        "zwan*",
        "müller",
        "nobody-has-this",
    ],
)
def test_the_index_finds_what_icontains_finds(users, text):
    assert indexed(text) == plain(text)


def test_the_index_follows_renames_bulk_inserts_and_deletes(users):
    user = users[0]
    user.last_name = "Kwakkelstein"
    user.save()
    assert indexed("kwakkel") == {user.pk} and indexed("zwanen") == set()
    PbxUser.objects.filter(pk=user.pk).update(sync_state="in_sync")  # the engine's own updates
    assert indexed("kwakkel") == {user.pk}

    columns = ["tenant", "entity", "template", "username", "first_name", "last_name", "internal_number"]
    rest = [c.name for c in PbxUser._meta.concrete_fields if not c.primary_key and c.name not in columns]
    defaults = new_row_defaults(PbxUser, rest)
    row = (user.tenant_id, user.entity_id, user.template_id, "bulk1", "Bulk", "Inserted", "1190")
    insert_rows(PbxUser, columns + rest, [row + tuple(defaults.get(c) for c in rest)])
    bulk = PbxUser.objects.get(username="bulk1")
    assert indexed("inserted") == {bulk.pk}

    bulk.delete()
    assert indexed("inserted") == set()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet="abcdeijnruvwzABZ019.-_%'\" *()", min_size=1, max_size=12))
def test_any_text_finds_what_icontains_finds(users, text):
    assert indexed(text) == plain(text)


def with_tenant_names(text: str) -> set[int]:
    return set(search_users(PbxUser.objects.all(), text, tenant_names=True).values_list("pk", flat=True))


def plain_with_tenant_names(text: str) -> set[int]:
    """What the admin's search_fields (the user's columns and its tenant's name) find with icontains."""
    rows = PbxUser.objects.all()
    for word in text.split():
        fields = [*USER_COLUMNS, "tenant__name"]
        rows = rows.filter(reduce(or_, (Q(**{f"{c}__icontains": word}) for c in fields)))
    return set(rows.values_list("pk", flat=True))


@pytest.mark.parametrize("text", ["acme", "ACME zwanen", "acme nobody", "zwanen", "1103", "%", "_", "cme anna"])
def test_with_tenant_names_it_finds_what_the_admin_s_fields_find(users, text):
    tenant = users[0].tenant
    tenant.name = "acme-hq"
    tenant.save(update_fields=["name"])
    PbxUserFactory(last_name="Elsewhere", internal_number="1500")  # another tenant, another name
    assert with_tenant_names(text) == plain_with_tenant_names(text)


def test_the_admin_s_user_search_goes_through_the_index_and_keeps_to_the_login(users, client):
    tenant = users[0].tenant
    theirs = PbxUserFactory(last_name="Zwanenburg", internal_number="1600")  # another organization's
    staff = UserFactory(is_staff=True)
    MembershipFactory(user=staff, organization=tenant.organization, role="admin")
    client.force_login(staff)
    url = reverse("admin:telephony_pbxuser_changelist")
    found = client.get(url, {"q": "zwanen"}).context["cl"].result_list
    assert list(found) == [users[0]] and theirs not in found
    assert list(client.get(url, {"q": f"anna {tenant.name}"}).context["cl"].result_list) == [users[0]]
    assert client.get(url, {"q": "nul\x00byte"}).status_code == 200
