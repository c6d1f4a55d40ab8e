"""A page read keys first holds the same rows, in the same order, as a page read whole."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.paginator import EmptyPage, Paginator
from django.db import connection
from django.db.models import Count, F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.models import Organization, Role
from tenants.pagination import AtLeast, KeysFirstPaginator
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


def test_a_long_list_is_counted_only_so_far_and_says_so(organizations):
    paginator = KeysFirstPaginator(organizations, 2, counted=5)  # at least 6 pages' worth: 12 rows
    assert paginator.count == 12 and isinstance(paginator.count, AtLeast) and str(paginator.count) == "12+"
    assert paginator.num_pages == 6
    assert [o.pk for o in paginator.page(6).object_list] == [o.pk for o in organizations[10:12]]
    further = KeysFirstPaginator(organizations, 2, counted=5, page_asked="9")  # counted to page 14
    assert further.count == 24 and not isinstance(further.count, AtLeast)
    for nonsense in ("x", "-3", "١٢", "9" * 40, None):
        assert KeysFirstPaginator(organizations, 2, counted=5, page_asked=nonsense).counted == 12


def test_an_admin_list_past_its_count_says_how_far_it_counted(tree, member, client, monkeypatch):
    model_admin = admin.site._registry[Organization]
    monkeypatch.setattr(model_admin, "list_counted", 3)
    monkeypatch.setattr(model_admin, "list_per_page", 2)
    parent = Organization.objects.get(pk=tree.reseller.pk)
    for index in range(14):
        OrganizationFactory(parent=Organization.objects.get(pk=parent.pk), name=f"c{index:02}")
    client.force_login(member(tree.reseller, Role.ADMIN))
    page = client.get(reverse("admin:tenants_organization_changelist"))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 12  # six pages of two: the first and five ahead
    assert "12+ organizations" in " ".join(page.content.decode().split())
    last = client.get(reverse("admin:tenants_organization_changelist"), {"p": 6})
    assert last.status_code == 200 and last.context["cl"].result_count == 16  # all of them now: exact
    assert "16 organizations" in " ".join(last.content.decode().split())


def test_the_count_beside_the_search_box_shows_for_a_search_or_a_filter_only(tree, member, client):
    client.force_login(member(tree.reseller, Role.ADMIN))
    url = reverse("admin:tenants_organization_changelist")
    plain = " ".join(client.get(url).content.decode().split())
    assert "Show all" not in plain  # nothing to show all of: it is all
    searched = " ".join(client.get(url, {"q": "Customer"}).content.decode().split())
    assert "1 result (" in searched and "Show all" in searched
    filtered = " ".join(client.get(url, {"kind__exact": "customer"}).content.decode().split())
    assert "1 result (" in filtered


@pytest.mark.parametrize("orphans", [0, 1])
def test_a_deep_page_holds_the_rows_of_a_plain_page_and_counts_them_with_its_keys(organizations, orphans):
    plain = Paginator(organizations, 2, orphans=orphans)
    for number in plain.page_range:
        deep = KeysFirstPaginator(organizations, 2, orphans=orphans, counted=3, page_asked=str(number))
        assert deep.deep  # every page's count goes past the usual 3 rows
        with CaptureQueriesContext(connection) as captured:
            count = deep.count
            page = deep.page(number)
        expected = plain.page(number)
        assert [o.pk for o in page.object_list] == [o.pk for o in expected.object_list]
        assert page.has_next() == expected.has_next()
        window = (number + 5) * 2  # counted to five pages past the one asked
        assert count == min(24, window) and isinstance(count, AtLeast) == (window < 24)
        assert len(captured.captured_queries) == 1  # the keys and the count: no COUNT of their own
        assert "COUNT" not in captured.captured_queries[0]["sql"].upper()


def test_a_deep_page_says_how_far_it_counted_when_the_list_goes_further(organizations):
    paginator = KeysFirstPaginator(organizations, 2, counted=3, page_asked="4")  # counted to page 9
    assert paginator.deep and paginator.count == 18 and isinstance(paginator.count, AtLeast)
    assert [o.pk for o in paginator.page(4).object_list] == [o.pk for o in organizations[6:8]]
    other = paginator.page(2)  # another page of the same paginator: its own keys
    assert [o.pk for o in other.object_list] == [o.pk for o in organizations[2:4]]


def test_a_deep_page_past_the_end_is_counted_and_refused_as_by_django(organizations):
    paginator = KeysFirstPaginator(organizations, 2, counted=3, page_asked="40")
    assert paginator.count == 24 and paginator.num_pages == 12
    with pytest.raises(EmptyPage):
        paginator.page(40)


def test_a_search_reads_its_keys_first_and_counts_them_only_when_they_go_further(organizations):
    few = organizations.filter(name__in=["n3", "n4"])  # 9 rows
    with CaptureQueriesContext(connection) as captured:
        searched = KeysFirstPaginator(few, 2, searched=True)
        assert searched.count == 9 and searched.num_pages == 5
        page = searched.page(1)
    assert [o.pk for o in page.object_list] == [o.pk for o in few[:2]]
    assert len(captured.captured_queries) == 1  # the keys told the count: the search ran once
    assert [o.pk for o in searched.page(5).object_list] == [o.pk for o in few[8:9]]

    many = KeysFirstPaginator(organizations, 2, searched=True)  # 24 rows: more than 6 pages' keys
    with CaptureQueriesContext(connection) as captured:
        assert many.count == 24 and not isinstance(many.count, AtLeast)
    assert len(captured.captured_queries) == 2  # the keys, then the count they did not settle
    assert [o.pk for o in many.page(1).object_list] == [o.pk for o in organizations[:2]]
    past = KeysFirstPaginator(few, 2, searched=True, page_asked="7")
    assert past.count == 9
    with pytest.raises(EmptyPage):
        past.page(7)


def test_an_admin_search_is_run_once_when_its_rows_are_few(tree, member, client, monkeypatch):
    monkeypatch.setattr(admin.site._registry[Organization], "list_per_page", 2)
    parent = Organization.objects.get(pk=tree.reseller.pk)
    for index in range(3):
        OrganizationFactory(parent=Organization.objects.get(pk=parent.pk), name=f"Zeta {index}")
    client.force_login(member(tree.reseller, Role.ADMIN))
    url = reverse("admin:tenants_organization_changelist")
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url, {"q": "zeta"})
    assert page.status_code == 200 and page.context["cl"].result_count == 3
    assert [o.name for o in page.context["cl"].result_list] == ["Zeta 0", "Zeta 1"]
    searched = [query["sql"] for query in captured if "%zeta%" in query["sql"].lower()]
    assert len(searched) == 2, searched  # the keys (and so the count), then the page's rows
