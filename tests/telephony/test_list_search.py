"""The jobs, numbers and audit lists' searches find exactly what Django's own admin search over the
same fields finds, whatever the words hold; on PostgreSQL they go through the trigram indexes that
migrations made on exactly the expressions they compare."""

from __future__ import annotations

from importlib import import_module

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import RequestFactory

from telephony.models import PbxUser, PhoneNumber, ProvisioningJob
from telephony.search import JOB_TEXT, NUMBER_TEXT
from tenants.admin_audit import ENTRY_TEXT
from tests.factories import EntityFactory, PbxUserFactory, PhoneNumberFactory, UserFactory

pytestmark = pytest.mark.django_db

WORDS = ["Zwanenburg", "O'Neill", 'Quote"d', "Per%cent", "under_score", "Müller", "{{ x }}", "<img onerror=1>"]
TEXTS = [
    "zwanen",
    "ZWANENBURG",
    "zwan neill",
    "o'neill",
    '"',
    "%",
    "_",
    "per%cent",
    "müller",
    "{{",
    "<img",
    "user.create",
    "+3120",
    "timeout",
    "a",
    "nobody-has-this",
    "x\x00y",
    "w" * 300,
]


@pytest.fixture
def rows():
    entity = EntityFactory(intervals=[("1000", "1999")])
    user_type = ContentType.objects.get_for_model(PbxUser)
    actors = [UserFactory(username=f"actor-{word.lower()[:20]}") for word in WORDS[:3]]
    for index, word in enumerate(WORDS):
        user = PbxUserFactory(entity=entity, last_name=word, internal_number=str(1100 + index))
        PhoneNumberFactory(
            organization=entity.tenant.organization,
            tenant=entity.tenant if index % 2 else None,
            assigned_user=user if index % 2 else None,
            label=WORDS[-1 - index] if index % 3 == 0 else "",
        )
        ProvisioningJob.objects.create(
            target_type=user_type, target_id=user.pk, target_key=f"pbxuser:{user.pk}", target_label=f"{word} line",
            operation="user.create" if index % 2 else "user.update", last_error="timeout" if index % 4 == 1 else "",
        )  # fmt: skip
        LogEntry.objects.create(
            content_type=user_type, object_pk=str(user.pk), object_id=user.pk, object_repr=f"{word} desk",
            action=LogEntry.Action.UPDATE, cid=f"req-{word}" if index % 2 else None, actor=actors[index % 3],
        )  # fmt: skip


def _found(model, text: str, *, django: bool) -> set[int]:
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    queryset = model._default_manager.all()
    if django:  # Django's own search over the list's search_fields
        found, _duplicates = admin.ModelAdmin.get_search_results(model_admin, request, queryset, text)
    else:
        found, _duplicates = model_admin.get_search_results(request, queryset, text)
    return set(found.values_list("pk", flat=True))


@pytest.mark.parametrize("model", [ProvisioningJob, PhoneNumber, LogEntry], ids=lambda m: m.__name__)
@pytest.mark.parametrize("text", TEXTS)
def test_the_list_finds_what_django_s_search_finds(rows, model, text):
    if "\x00" in text and connection.vendor == "postgresql":
        # PostgreSQL refuses NUL in a text: Django's search errs where ours drops the byte
        assert _found(model, text, django=False) == _found(model, text.replace("\x00", ""), django=True)
        return
    assert _found(model, text, django=False) == _found(model, text, django=True)


def test_a_word_is_found_through_the_tenant_the_user_and_the_actor(rows):
    tenant_name = PhoneNumber.objects.exclude(tenant=None).first().tenant.name
    assert _found(PhoneNumber, tenant_name, django=False) == set(
        PhoneNumber.objects.filter(tenant__name=tenant_name).values_list("pk", flat=True)
    )
    held = PhoneNumber.objects.get(assigned_user__last_name="O'Neill")
    assert held.pk in _found(PhoneNumber, "o'neill", django=False)  # its user's last name
    assert len(_found(LogEntry, "actor-zwanenburg", django=False)) == 3  # the login who made them


def test_the_index_expressions_are_those_the_migrations_made():
    jobs_and_numbers = import_module("telephony.migrations.0030_list_search").INDEXES
    assert jobs_and_numbers["telephony_provisioningjob_text_trgm"][1] == JOB_TEXT.text()
    assert jobs_and_numbers["telephony_phonenumber_text_trgm"][1] == NUMBER_TEXT.text()
    assert ENTRY_TEXT.text() == import_module("tenants.migrations.0005_audit_search").TEXT


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
@pytest.mark.parametrize(
    ("model", "index"),
    [
        (ProvisioningJob, "telephony_provisioningjob_text_trgm"),
        (PhoneNumber, "telephony_phonenumber_text_trgm"),
        (LogEntry, "auditlog_logentry_text_trgm"),
    ],
)
def test_postgresql_answers_a_search_from_the_index(rows, model, index):
    found, _duplicates = admin.site._registry[model].get_search_results(
        RequestFactory().get("/"), model._default_manager.all(), "zwanenburg"
    )
    with connection.cursor() as cursor:
        # a tiny table is read whole, or walked along its key, otherwise
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = found.order_by().query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 tables are SQLite's")
@pytest.mark.parametrize("text", [NUMBER_TEXT], ids=lambda t: t.model.__name__)
def test_sqlite_answers_a_search_from_the_fts_table(rows, text):
    found = text.model._default_manager.filter(text.holds("zwanenburg", connection.alias))
    sql, params = found.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(column) for row in cursor.fetchall() for column in row)
    assert text.fts in plan and "VIRTUAL TABLE INDEX" in plan


def test_the_search_follows_rows_written_changed_and_deleted(rows):
    job = ProvisioningJob.objects.get(target_label="Zwanenburg line")
    ProvisioningJob.objects.filter(pk=job.pk).update(last_error="kwartelkoning refused")
    assert _found(ProvisioningJob, "kwartelkoning", django=False) == {job.pk}
    assert _found(ProvisioningJob, "zwanenburg", django=False) == {job.pk}
    ProvisioningJob.objects.filter(pk=job.pk).update(target_label="Vink line")
    assert _found(ProvisioningJob, "zwanenburg", django=False) == set()
    number = PhoneNumber.objects.filter(label="").first()
    number.label = "Kwartelkoning desk"
    number.save()
    assert _found(PhoneNumber, "kwartelkoning", django=False) == {number.pk}
    number.delete()
    assert _found(PhoneNumber, "kwartelkoning", django=False) == set()
    entry = LogEntry.objects.get(object_repr="Zwanenburg desk")
    assert _found(LogEntry, '"zwanenburg desk"', django=False) == {entry.pk}
    LogEntry.objects.filter(pk=entry.pk).delete()
    assert _found(LogEntry, '"zwanenburg desk"', django=False) == set()
