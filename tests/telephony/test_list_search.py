"""The jobs, numbers and audit lists' searches find exactly what Django's own admin search over the
same fields finds, whatever the words hold; on PostgreSQL they go through the trigram indexes that
migrations made on exactly the expressions they compare."""

from __future__ import annotations

from importlib import import_module

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory

from telephony.models import PhoneNumber, ProvisioningJob
from telephony.search import JOB_TEXT, NUMBER_TEXT, catch_up_indexes
from telephony.tasks import catch_up_search_indexes
from tenants.audit import ENTRY_TEXT
from tests.searched_rows import build_searched_rows

pytestmark = pytest.mark.django_db

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


@pytest.fixture(params=["trailing", "caught up"])
def rows(request):
    """The rows, with the jobs' and entries' SQLite search tables behind them (as a bulk import leaves
    them) or caught up (as the worker leaves them a minute later)."""
    if request.param == "caught up" and connection.vendor != "sqlite":
        pytest.skip("nothing trails the writes on PostgreSQL")
    build_searched_rows()
    if request.param == "caught up":
        catch_up_indexes()


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
    for text, migration in [(JOB_TEXT, "telephony.migrations.0032_job_search_sqlite"),
                            (ENTRY_TEXT, "tenants.migrations.0008_audit_search_sqlite")]:  # fmt: skip
        made = import_module(migration)
        assert (text.model._meta.db_table, text.fts, text.columns) == (made.TABLE, made.FTS, made.COLUMNS)


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
@pytest.mark.parametrize("text", [NUMBER_TEXT, JOB_TEXT, ENTRY_TEXT], ids=lambda t: t.model.__name__)
def test_sqlite_answers_a_search_from_the_fts_table(rows, text):
    found = text.model._default_manager.filter(text.holds("zwanenburg", connection.alias))
    sql, params = found.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(column) for row in cursor.fetchall() for column in row)
    assert text.fts in plan and "VIRTUAL TABLE INDEX" in plan
    # the list's table is read by key, never walked whole
    assert f"SCAN {text.model._meta.db_table} " not in plan + " ", plan


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


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the trailing FTS tables are SQLite's")
def test_a_trailing_table_catches_up_in_chunks_and_then_follows_changes():
    build_searched_rows()
    jobs, entries = ProvisioningJob.objects.count(), LogEntry.objects.count()
    assert JOB_TEXT.catch_up(chunk=3) == jobs  # three rows a transaction, to the last
    assert catch_up_search_indexes() == {JOB_TEXT.fts: 0, ENTRY_TEXT.fts: entries}
    assert catch_up_indexes() == {JOB_TEXT.fts: 0, ENTRY_TEXT.fts: 0}  # nothing new
    assert _fts_rows(JOB_TEXT, "zwanenburg") == set(
        ProvisioningJob.objects.filter(target_label__icontains="zwanenburg").values_list("pk", flat=True)
    )
    indexed = ProvisioningJob.objects.get(target_label="Zwanenburg line")
    ProvisioningJob.objects.filter(pk=indexed.pk).update(last_error="Kwartelkoning refused")
    assert _fts_rows(JOB_TEXT, "kwartelkoning") == {indexed.pk}  # the trigger followed the change
    behind = ProvisioningJob.objects.create(
        target_type=indexed.target_type, target_id=1, target_key="pbxuser:1", target_label="Kwartelkoning 2",
        operation="user.create",
    )  # fmt: skip
    assert _fts_rows(JOB_TEXT, "kwartelkoning") == {indexed.pk}  # not indexed yet...
    assert _found(ProvisioningJob, "kwartelkoning", django=False) == {indexed.pk, behind.pk}  # ...still found
    ProvisioningJob.objects.filter(pk=indexed.pk).delete()
    assert _fts_rows(JOB_TEXT, "kwartelkoning") == set()
    assert catch_up_indexes()[JOB_TEXT.fts] == 1
    assert _fts_rows(JOB_TEXT, "kwartelkoning") == {behind.pk}
    assert _found(ProvisioningJob, "kwartelkoning", django=False) == {behind.pk}


def _fts_rows(text, word: str) -> set[int]:
    """The rows the FTS table itself says hold `word` (what a search asks it for)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid FROM {text.fts} WHERE {text.fts} MATCH %s", [f'"{word}"'])
        return {row[0] for row in cursor.fetchall()}
