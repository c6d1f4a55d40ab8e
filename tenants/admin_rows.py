"""The rows of an admin list, drawn for what they cost to draw.

Django draws each row's selection box through the form widget templates (about 0.35 ms a row, a
sixth of a 50-row page) and works out each row's link by resolving the change view's URL again,
once per link column. The HTML here is the same, character for character
(tests/tenants/test_admin_rows.py compares it with Django's); the work is done once a page. So is
adding the list's filters to each link, which Django does by resolving the link's URL again.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import quote as url_quote

from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.translation import gettext as _

_KEY = "~key~"  # stands for a row's key in the change URL resolved once a page


class QuickRowsChangeList(ChangeList):
    """A ChangeList whose rows' change links come from one resolved URL, the list's filters (kept
    for the way back) already in it."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Django adds the list's filters to each row's link, resolving the link's URL again to do so
        # (a sixth of a millisecond, per link column, per row, on a filtered or paged list): done once
        # here for the page, and the rows are given links that already hold them.
        self._row_filters, self.preserved_filters = self.preserved_filters, ""

    @cached_property
    def _change_url(self) -> str:
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(_KEY,),
            current_app=self.model_admin.admin_site.name,
        )
        return add_preserved_filters({"preserved_filters": self._row_filters, "opts": self.opts}, url)

    def url_for_result(self, result: Any) -> str:
        # as reverse() writes an argument into a URL: the admin's quoting, then the URL's
        key = url_quote(str(quote(getattr(result, self.pk_attname))), safe=RFC3986_SUBDELIMS + "/~:@")
        return self._change_url.replace(_KEY, key, 1)


class QuickRowsMixin:
    """For a ModelAdmin: the selection box written directly, the quick links of the ChangeList."""

    def action_checkbox(self, obj: Any) -> str:
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_changelist(self, request: Any, **kwargs: Any) -> type[ChangeList]:
        return QuickRowsChangeList
