"""The API's jobs and numbers searches find exactly what DRF's own SearchFilter over the same fields
finds, whatever the words hold (quotes, commas, LIKE's wildcards, NUL), through the indexed columns."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework import filters
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from portal.api.views import IndexedColumnsSearch, JobViewSet
from portal.api.views_numbers import PhoneNumberViewSet
from tests.factories import UserFactory
from tests.searched_rows import build_searched_rows

pytestmark = pytest.mark.django_db

TEXTS = [
    "zwanen",
    "zwan neill",
    "zwan,neill",
    '"zwanenburg line"',
    "'o''neill'",
    '"',
    "%",
    "_",
    "per%cent",
    "MÜLLER",
    "{{",
    "<img",
    "user.create timeout",
    "+3120",
    "a",
    "nobody-has-this",
    "x\x00y",
    "w" * 300,
    ",",
]


@pytest.fixture
def rows():
    build_searched_rows()


def _found(view_class, text: str, backend) -> set[int]:
    request = Request(APIRequestFactory().get("/", {"search": text}))
    queryset = view_class.serializer_class.Meta.model._default_manager.all()
    return set(backend().filter_queryset(request, queryset, view_class()).values_list("pk", flat=True))


@pytest.mark.parametrize("view_class", [JobViewSet, PhoneNumberViewSet], ids=lambda v: v.__name__)
@pytest.mark.parametrize("text", TEXTS)
def test_the_api_search_finds_what_drf_s_search_finds(rows, view_class, text):
    found = _found(view_class, text, IndexedColumnsSearch)
    if "\x00" in text:  # DRF refuses a NUL byte (a 400); ours drops it
        assert found == _found(view_class, text.replace("\x00", ""), filters.SearchFilter)
        return
    assert found == _found(view_class, text, filters.SearchFilter)
    if text == "<img":
        assert found  # the texts find something, not only nothing on both sides


def test_the_jobs_api_searches_the_last_error_too(rows):
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    answer = client.get("/api/v1/jobs/", {"search": "timeout"})
    assert answer.status_code == 200
    labels = {row["target_label"] for row in answer.json()["results"]}
    assert labels == {"O'Neill line", "Müller line"}
    numbers = client.get("/api/v1/phone-numbers/", {"search": "onerror"}).json()["results"]
    assert [row["label"] for row in numbers] == ["<img onerror=1>"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
@pytest.mark.parametrize(
    ("view_class", "index"),
    [(JobViewSet, "telephony_provisioningjob_text_trgm"), (PhoneNumberViewSet, "telephony_phonenumber_text_trgm")],
)
def test_postgresql_answers_the_api_search_from_the_index(rows, view_class, index):
    request = Request(APIRequestFactory().get("/", {"search": "zwanenburg"}))
    queryset = view_class.serializer_class.Meta.model._default_manager.all()
    found = IndexedColumnsSearch().filter_queryset(request, queryset, view_class())
    with connection.cursor() as cursor:
        # a tiny table is read whole, or walked along its key, otherwise
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = found.order_by().query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
