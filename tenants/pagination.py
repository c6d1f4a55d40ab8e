"""Pages of a long list that cost the same on page 500 as on page 1, and a count that stops.

A database reaches page N with OFFSET: it produces every row before the page and throws it away.
Asked for the rows whole, it also joins, decodes and computes every column of those skipped rows:
the related rows of `list_select_related`, a count per row, wide text. `KeysFirstPaginator` asks
first for the keys of the page alone (the list's ordering and filter, nothing else, which an index
often answers by itself), then for those rows with everything the list shows.

And it counts the list only so far: up to 10,000 rows, or a few pages past the one asked. A list
with more says "10000+" (`AtLeast`): counting every one of a distributor's 100,000 users, for every
page, was the largest query left on a list's first page. Past those 10,000 rows, and on a search,
the page's keys come first, from the page asked to five pages past it: they say what the page holds
and, when the list ends among them, how long it is, so that no count runs (page 500 counted its
25,000 rows before, then skipped them again to find its keys; a search ran twice).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

COUNTED = 10_000  # rows a list counts before it says "10000+"
PAGES_AHEAD = 5  # pages counted past the one asked, when that is further


class AtLeast(int):
    """A count that stopped: at least this many ("10000+" wherever a page shows it)."""

    def __str__(self) -> str:
        return f"{int(self)}+"

    __repr__ = __str__


class KeysFirstPaginator(Paginator):
    """A Paginator over a queryset that reads a page in two queries, the page's primary keys then
    its rows (the page's `object_list` is still a queryset, in the list's order), and counts up to
    `counted` rows or a few pages past `page_asked`."""

    def __init__(
        self,
        *args: Any,
        page_asked: Any = None,
        counted: int = COUNTED,
        searched: bool = False,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        asked = str(page_asked or "1")
        self.asked = int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 10 else 1
        ahead = (self.asked + PAGES_AHEAD) * self.per_page  # the last row of five pages past the one asked
        self.counted = max(counted, ahead)
        self.deep = self.counted > counted  # the page asked lies past the usual count
        # A search's rows are often few: its keys to five pages ahead, read first, may be all of
        # them, and the search is then not run a second time to count them.
        self.window_first = self.deep or searched
        self.window_end = min(self.counted, ahead)

    @cached_property
    def _keys_ahead(self) -> list[Any]:
        """The keys from the first row of the page asked to one past five pages after it, in the
        list's order (none: the list ends before that page)."""
        bottom = (self.asked - 1) * self.per_page
        return list(self.object_list.values_list("pk", flat=True)[bottom : self.window_end + 1])

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().count
        if self.window_first and self._keys_ahead:
            found = (self.asked - 1) * self.per_page + len(self._keys_ahead)
            if found <= self.window_end:
                return found  # the list ends within the keys read
            if self.deep:
                return AtLeast(self.counted)  # read as far as the count goes
        # a page within the usual count, past the list's end, or a search with more rows than read
        found = self.object_list.order_by().values("pk")[: self.counted + 1].count()
        return AtLeast(self.counted) if found > self.counted else found

    def page(self, number: Any) -> Page:
        if not isinstance(self.object_list, QuerySet):
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if self.window_first and number == self.asked and self._keys_ahead:
            keys = self._keys_ahead[: top - bottom]  # read with the count
        else:
            keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        # the same queryset (its ordering, joins and annotations), narrowed to the page's keys
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


class LongListMixin:
    """For a ModelAdmin: its lists paged by `KeysFirstPaginator`, told which page is asked."""

    paginator = KeysFirstPaginator
    list_counted = COUNTED

    def get_paginator(
        self, request: HttpRequest, queryset: Any, per_page: int, orphans: int = 0, allow_empty_first_page: bool = True
    ) -> Paginator:
        return self.paginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            page_asked=request.GET.get(PAGE_VAR),
            counted=self.list_counted,
            searched=bool(request.GET.get(SEARCH_VAR, "").strip()),
        )
