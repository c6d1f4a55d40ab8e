"""Change history in the admin, from django-auditlog: the collapsed "Change history" section of an
object's page and the page its HISTORY button opens.

Django's own history page reads `django.contrib.admin.models.LogEntry`, which the portal never
writes (every change goes through a service and is logged by django-auditlog, whichever way it
came in), so it would always say the object has no history. Here both places show the auditlog
entries of the object, rendered the same way, and only to a login that may see the object: the
history page of an object outside the login's scope answers 404, as the object's own page does.
Objects the portal does not audit (jobs, import runs) have no HISTORY button.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from tenants import audit
from tenants.audit_display import STAFF, ShownChange, ShownEntry, shown_entries
from tenants.audit_mixin import Audited


def render_changes(changes: list[ShownChange]) -> str:
    """before → after per field (a create or delete: the values it set or removed)."""
    if not changes:
        return "—"
    return format_html(
        "<ul>{}</ul>",
        format_html_join("", "<li><b>{}</b>: {}</li>", ((change.label, _transition(change)) for change in changes)),
    )


def _transition(change: ShownChange) -> str:
    if change.old is None:
        return change.new or "∅"
    return f"{change.old or '∅'} → {change.new or '∅'}"


def render_history(entries: list[ShownEntry]) -> str:
    """A table of entries: when, who (a person, an import, a job), what, and the changes."""
    if not entries:
        return _("No recorded changes.")
    return format_html(
        '<table class="history-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        _("when"),
        _("who"),
        _("what"),
        _("changes"),
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    shown.entry.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
                    (shown.entry.additional_data or {}).get("via") or shown.entry.actor or _("system"),
                    shown.entry.get_action_display(),
                    render_changes(shown.changes),
                )
                for shown in entries
            ),
        ),
    )


class AuditHistoryMixin:
    """For a ModelAdmin whose `get_object` finds only what the login may see."""

    object_history_template = "admin/audit_history.html"
    history_per_page = 100

    @property
    def media(self) -> forms.Media:
        return super().media + forms.Media(css={"all": ["tenants/admin.css"]})  # the history table

    def _audited(self) -> bool:
        return issubclass(self.model, Audited)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        context.setdefault("history_kept", self._audited())  # admin/change_form_object_tools.html
        return super().render_change_form(request, context, *args, **kwargs)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> TemplateResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise Http404(f"No {self.model._meta.verbose_name} matches the given query.")
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("Change history: %(object)s") % {"object": obj},
            "subtitle": None,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            "media": self.media,
            "history_kept": self._audited(),
        }
        if context["history_kept"]:
            entries = audit.entries_for(obj, request.user, limit=None)
            paginator = self.get_paginator(request, entries, self.history_per_page)
            page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
            context.update(
                history=render_history(shown_entries(page.object_list, audience=STAFF, viewer=request.user)),
                page=page,
                page_range=paginator.get_elided_page_range(page.number),
                page_var=PAGE_VAR,
            )
        context.update(extra_context or {})
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)
