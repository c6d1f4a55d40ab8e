"""Pages of a long list that cost the same on page 500 as on page 1.

A database reaches page N with OFFSET: it produces every row before the page and throws it away.
Asked for the rows whole, it also joins, decodes and computes every column of those skipped rows:
the related rows of `list_select_related`, a count per row, wide text. `KeysFirstPaginator` asks
first for the keys of the page alone (the list's ordering and filter, nothing else, which an index
often answers by itself), then for those rows with everything the list shows.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class KeysFirstPaginator(Paginator):
    """A Paginator over a queryset that reads a page in two queries: the page's primary keys, then
    its rows. The page's `object_list` is still a queryset, in the list's order."""

    def page(self, number: Any) -> Page:
        if not isinstance(self.object_list, QuerySet):
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        # the same queryset (its ordering, joins and annotations), narrowed to the page's keys
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)
