"""A page read keys first holds the same rows, in the same order, as a page read whole."""

from __future__ import annotations

import pytest
from django.core.paginator import EmptyPage, Paginator
from django.db import connection
from django.db.models import Count, F
from django.test.utils import CaptureQueriesContext

from tenants.models import Organization
from tenants.pagination import KeysFirstPaginator
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def organizations():
    root = OrganizationFactory(name="root")
    # names out of key order, some equal: the list's ordering decides, the key breaks ties
    for index in range(23):
        OrganizationFactory(parent=Organization.objects.get(pk=root.pk), name=f"n{(index * 7) % 5}")
    return Organization.objects.annotate(members=Count("memberships"), shown=F("name")).order_by("-name", "pk")


@pytest.mark.parametrize("orphans", [0, 3])
def test_every_page_holds_the_rows_of_a_plain_page(organizations, orphans):
    plain = Paginator(organizations, 5, orphans=orphans)
    keys_first = KeysFirstPaginator(organizations, 5, orphans=orphans)
    assert keys_first.num_pages == plain.num_pages
    for number in plain.page_range:
        expected = [(o.pk, o.members, o.shown) for o in plain.page(number).object_list]
        page = keys_first.page(number)
        assert [(o.pk, o.members, o.shown) for o in page.object_list] == expected
        assert page.has_next() == plain.page(number).has_next()


def test_a_page_is_two_queries_that_the_skipped_rows_do_not_widen(organizations):
    page = KeysFirstPaginator(organizations, 5).page(3)
    with CaptureQueriesContext(connection) as captured:
        rows = list(page.object_list)
    assert len(rows) == 5
    assert len(captured.captured_queries) == 1
    assert "OFFSET" not in captured.captured_queries[0]["sql"].upper()  # the offset went to the keys' query


def test_a_page_out_of_range_is_refused_as_by_django(organizations):
    with pytest.raises(EmptyPage):
        KeysFirstPaginator(organizations, 5).page(99)


def test_a_list_that_is_no_queryset_is_paged_as_usual():
    page = KeysFirstPaginator(list(range(12)), 5).page(3)
    assert list(page.object_list) == [10, 11]
