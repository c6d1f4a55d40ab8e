"""The audit history in the admin: one filterable list of every change, scoped like everything else,
and each object's own history on its page."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants import access, audit
from tenants.admin_history import render_changes
from tenants.admin_rows import QuickRowsChangeList, QuickRowsMixin
from tenants.audit_display import STAFF, shown_entries
from tenants.pagination import LongListMixin
from tenants.text_search import admin_search_words, any_of


class AuditChangeList(QuickRowsChangeList):
    """A page of entries, with the names of the objects they refer to fetched for the whole page
    (one query per related model, not one per row)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        for shown in shown_entries(self.result_list, audience=STAFF, viewer=request.user):
            shown.entry.shown_changes = shown.changes


class AuditedTypeFilter(admin.RelatedFieldListFilter):
    """The kinds of object the log records (the models registered with auditlog), not every
    content type of the project (sessions, permissions, ...), of which no entry speaks."""

    def field_choices(self, field, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[Any, str]]:
        kinds = ContentType.objects.get_for_models(*auditlog.get_models()).values()
        return sorted(((kind.pk, str(kind)) for kind in kinds), key=lambda choice: choice[1].lower())


ACTORS_LISTED = 1000  # logins a search word may name, given to the query as ids (more: a subquery)


if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(LongListMixin, QuickRowsMixin, admin.ModelAdmin):
    """Every change to organizations, memberships, platforms and mirrored objects."""

    list_display = [
        "timestamp",
        "actor",
        "origin",
        "action",
        "content_type",
        "object_repr",
        "changes_shown",
        "remote_addr",
    ]
    list_filter = ["action", ("content_type", AuditedTypeFilter), "timestamp"]
    list_select_related = ["actor", "content_type"]
    search_fields = ["object_repr", "actor__username", "cid"]  # through tenants.audit.ENTRY_TEXT's index
    # No date hierarchy (its dates are a scan of every entry the login sees; the timestamp filter
    # offers the ranges) and no "of N in all" (a second count of them all).
    show_full_result_count = False
    # "1000+ log entries": a history only grows, and counting on to 10,000 entries of one action read
    # that many of a reseller's entries for each page (12 of its 50 ms at 100,000 on SQLite)
    list_counted = 1000
    list_per_page = 50  # as every other list of the portal
    ordering = ["-timestamp"]
    fields = [
        "timestamp",
        "actor",
        "origin",
        "action",
        "content_type",
        "object_pk",
        "object_repr",
        "changes_shown",
        "remote_addr",
        "cid",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("changes"))
    def changes_shown(self, entry: LogEntry) -> str:
        return render_changes(entry.shown_changes)  # worked out for the viewer with the page

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AuditChangeList

    @admin.display(description=gettext_lazy("by"))
    def origin(self, entry: LogEntry) -> str:
        return (entry.additional_data or {}).get("via", "") or (_("person") if entry.actor_id else _("system"))

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        for word in admin_search_words(search_term):
            ways = [audit.ENTRY_TEXT.holds(word, queryset.db)]
            # The logins named first (a short table): when none is, the planner is not left to guess
            # how many entries an unknown login made, and starts from the few the index finds.
            named = get_user_model().objects.filter(username__icontains=word).order_by().values("pk")
            actors = list(named.values_list("pk", flat=True)[: ACTORS_LISTED + 1])
            if actors:
                ways.append(Q(actor_id__in=actors if len(actors) <= ACTORS_LISTED else named))
            queryset = queryset.filter(any_of(queryset, ways))
        return queryset, False

    def get_queryset(self, request: HttpRequest):
        return audit.restrict_entries(super().get_queryset(request), request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.has_any_scope(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not access.has_any_scope(request.user):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        from django.http import Http404

        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No audit entry matches the given query.")
        obj.shown_changes = shown_entries([obj], audience=STAFF, viewer=request.user)[0].changes
        return obj
