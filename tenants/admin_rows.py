"""The rows of an admin list, drawn for what they cost to draw.

Django draws each row's selection box through the form widget templates (about 0.35 ms a row, a
sixth of a 50-row page) and works out each row's link by resolving the change view's URL again,
once per link column. The HTML here is the same, character for character
(tests/tenants/test_admin_rows.py compares it with Django's); the work is done once a page. So is
adding the list's filters to each link, which Django does by resolving the link's URL again.

So is what Django works out again for every cell (`items_for_result`): the empty value's text, a
column's class, a choice field's labels, the boolean icons' static URLs; and a row reaches the
template as one piece, not a cell at a time (`quick_result_list`, the `quick_result_list` tag that
templates/admin/change_list.html puts in place of Django's `result_list`).
"""

from __future__ import annotations

import datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote as url_quote

from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    _boolean_icon,
    _coerce_field_name,
    result_headers,
    result_list,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value, lookup_field, quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from tenants.choices import choices_of

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


def quick_result_list(cl: ChangeList) -> dict[str, Any]:
    """The `result_list` tag's context, each row drawn in one piece (Django's own for a list with
    editable fields or in a pop-up, which this does not draw)."""
    if not isinstance(cl, QuickRowsChangeList) or cl.formset or cl.is_popup:
        return result_list(cl)
    headers = list(result_headers(cl))
    page = _Page(cl)
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": [ResultList(None, [page.row(result)]) for result in cl.result_list],
    }


class _Page:
    """What `items_for_result` works out for every cell, worked out once for a page."""

    DATES = (datetime.date, datetime.time)
    NOWRAP_FIELDS = (models.DateField, models.TimeField, models.ForeignKey)

    def __init__(self, cl: ChangeList):
        self.cl = cl
        self.empty = cl.model_admin.get_empty_value_display()
        self.icons = {value: _boolean_icon(value) for value in (True, False, None)}
        self.columns = []
        first = True
        for index, name in enumerate(cl.list_display):
            linked = cl.list_display_links is not None and (
                (first and not cl.list_display_links) or name in cl.list_display_links
            )
            tag = ("th" if first else "td") if linked else None
            first = first and not linked
            self.columns.append((name, "field-" + str(_coerce_field_name(name, index)), tag))

    def row(self, result: Any) -> SafeString:
        return format_html_join("", "{}", ((self._cell(result, *column),) for column in self.columns))

    def _cell(self, result: Any, name: Any, field_class: str, tag: str | None) -> str:
        classes, empty = [field_class], self.empty
        try:
            field, attr, value = lookup_field(name, result, self.cl.model_admin)
        except ObjectDoesNotExist:
            shown = empty
        else:
            empty = getattr(attr, "empty_value_display", empty)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if field is None or field.auto_created:
                if name == "action_checkbox":
                    classes = ["action-checkbox"]
                boolean = getattr(attr, "boolean", False)
                if isinstance(attr, property) and hasattr(attr, "fget"):
                    boolean = getattr(attr.fget, "boolean", False)
                shown = display_for_value(value, empty, boolean)
                if isinstance(value, self.DATES):
                    classes.append("nowrap")
            else:
                if isinstance(field.remote_field, models.ManyToOneRel):
                    related = getattr(result, field.name)
                    shown = empty if related is None else related
                else:
                    shown = self._field_value(value, field, empty, tag is not None)
                if isinstance(field, self.NOWRAP_FIELDS):
                    classes.append("nowrap")
        css = " ".join(classes)
        if tag is None:
            return format_html('<td class="{}">{}</td>', css, shown)
        try:
            url = self.cl.url_for_result(result)  # the list's filters already in it
        except NoReverseMatch:
            return format_html('<{} class="{}">{}</{}>', tag, css, shown, tag)
        return format_html('<{} class="{}"><a href="{}">{}</a></{}>', tag, css, url, shown, tag)

    def _field_value(self, value: Any, field: models.Field, empty: str, linked: bool) -> Any:
        """display_for_field, with a choice field's labels and the boolean icons read once."""
        if getattr(field, "flatchoices", None):
            labels = choices_of(field)
            if labels is not None:
                try:
                    return labels.get(value, empty)
                except TypeError:  # a value that is a list: display_for_field makes it hashable
                    pass
        elif isinstance(field, models.BooleanField) and (value is True or value is False or value is None):
            return self.icons[value]
        return display_for_field(value, field, empty, avoid_link=linked)
