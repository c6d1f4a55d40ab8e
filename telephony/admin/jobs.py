"""Provisioning jobs: the list (by status, platform, tenant, batch), each job with its attempts and
their redacted HTTP exchanges, and the retry and cancel actions."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin import list_filters
from telephony.admin.sync import badge
from telephony.backends.redaction import redact_value
from telephony.models import JobAttempt, LineTemplateMirror, ProvisioningBatch, ProvisioningJob
from telephony.search import search_jobs
from telephony.selectors import conflict_holder
from telephony.services import jobs as services
from tenants import access
from tenants.access import CHANGE
from tenants.admin_scoping import ScopedAdmin, ScopedInline
from tenants.choices import choice_label


class JobAttemptInline(ScopedInline):
    """Each attempt as a block of the page's full width (not a table row): its exchanges are long."""

    model = JobAttempt
    template = "admin/edit_inline/stacked.html"
    fields = ["number", "started_at", "finished_at", "outcome", "worker", "calls_made", "error", "http_exchanges"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description=gettext_lazy("backend calls"))
    def calls_made(self, attempt: JobAttempt) -> int:
        return attempt.calls_made

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("HTTP exchanges (secrets masked)"))
    def http_exchanges(self, attempt: JobAttempt) -> str:
        """One fold per exchange: its line (method, URL, status, time) shown, its bodies inside,
        pretty-printed when they are JSON. A failed exchange is open."""
        if not attempt.exchanges:
            return "—"
        return format_html_join(
            "",
            '<details class="exchange"{}><summary><code>{} {}</code> → {} <small>{} ms</small></summary>'
            "{}{}{}</details>",
            (_exchange_parts(exchange) for exchange in attempt.exchanges),
        )


def _change_url(row: Any) -> str:
    """The admin page of a row (a template's mirror: its template's), or "" when it has none."""
    row = row.template if isinstance(row, LineTemplateMirror) else row
    if row is None:
        return ""
    try:
        return reverse(f"admin:{row._meta.app_label}_{row._meta.model_name}_change", args=[row.pk])
    except NoReverseMatch:
        return ""


def _exchange_parts(exchange: dict[str, Any]) -> tuple[Any, ...]:
    status = exchange.get("status")
    failed = bool(exchange.get("error")) or not isinstance(status, int) or status >= 400
    return (
        format_html(" {}", "open") if failed else "",
        exchange.get("method", ""),
        exchange.get("url", ""),
        status or _("no answer"),
        exchange.get("duration_ms", ""),
        _body(_("request"), exchange.get("request_body", "")),
        _body(_("answer"), exchange.get("response_body", "")),
        format_html('<p class="errornote">{}</p>', exchange["error"]) if exchange.get("error") else "",
    )


def _body(title: str, body: Any) -> str:
    if body in ("", None):
        return ""
    return format_html('<div class="exchange-part">{}</div><pre class="exchange-body">{}</pre>', title, _pretty(body))


def _pretty(body: Any) -> str:
    """A JSON body indented (a body cut short by the log's limit is shown as it was kept)."""
    if not isinstance(body, str):
        return json.dumps(body, indent=2, ensure_ascii=False)
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(ScopedAdmin):
    list_display = [
        "id",
        "operation",
        "target_label",
        "tenant",
        "status_badge",
        "attempt_count",
        "created_at",
        "short_error",
    ]
    list_display_links = ["id", "operation"]
    # No filter's choices come from scanning the jobs (a DISTINCT over every row), and no date
    # hierarchy (its MIN/MAX and truncated dates are whole-table scans): a date range filter instead.
    list_filter = [
        "status",
        "waiting_for",
        list_filters.PlatformFilter,
        list_filters.OperationFilter,
        ("created_at", admin.DateFieldListFilter),
        list_filters.JobTenantFilter,
        list_filters.JobBatchFilter,
    ]
    list_select_related = ["tenant"]
    search_fields = ["target_label", "operation", "last_error"]  # through telephony.search.JOB_TEXT's index
    actions = ["retry_selected", "cancel_selected"]
    inlines = [JobAttemptInline]
    change_form_template = "admin/telephony/provisioningjob/change_form.html"
    fields = [
        "operation",
        "target_label",
        "target_key",
        "status",
        "attempts",
        "max_attempts",
        "backend_calls",
        "tenant",
        "platform",
        "server",
        "batch",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "next_attempt_at",
        "dispatched_at",
        "lease_expires_at",
        "error_kind",
        "last_error",
        "payload_shown",
        "result",
        "depends_on",
        "waiting_for",
        "releases",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["telephony/admin.css"]}

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, job: ProvisioningJob) -> str:
        return badge(job.status, choice_label(job, "status"))

    @admin.display(description=gettext_lazy("attempts"))
    def attempt_count(self, job: ProvisioningJob) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description=gettext_lazy("backend calls"))
    def backend_calls(self, job: ProvisioningJob) -> int:
        """Every call its attempts made: what this change cost the PBX."""
        return sum(attempt.calls_made for attempt in job.attempt_log.all())

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, job: ProvisioningJob) -> str:
        return job.last_error[:120]

    @admin.display(description=gettext_lazy("waits for the earlier jobs of"))
    def depends_on(self, job: ProvisioningJob) -> str:
        return ", ".join(job.dependency_keys()) or "—"

    @admin.display(description=gettext_lazy("payload (secrets masked)"))
    def payload_shown(self, job: ProvisioningJob) -> str:
        return format_html('<pre class="exchange-body">{}</pre>', json.dumps(redact_value(job.payload), indent=1))

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        return search_jobs(queryset, search_term), False  # no words: the queryset as it is

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<int:job_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="telephony_provisioningjob_retry",
            ),
            path(
                "<int:job_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="telephony_provisioningjob_cancel",
            ),
            *super().get_urls(),
        ]

    def _act(self, request: HttpRequest, job_id: int, action, done: str) -> HttpResponseRedirect:
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if request.method == "POST":
            try:
                action(actor=request.user, job=job)
                messages.success(request, done % {"id": job.pk})
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(reverse("admin:telephony_provisioningjob_change", args=[job.pk]))

    def retry_view(self, request: HttpRequest, job_id: int) -> HttpResponseRedirect:
        return self._act(request, job_id, services.job_retry, _("Job #%(id)s will be tried again."))

    def cancel_view(self, request: HttpRequest, job_id: int) -> HttpResponseRedirect:
        return self._act(request, job_id, services.job_cancel, _("Job #%(id)s cancelled."))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_act"] = obj is not None and access.can(request.user, CHANGE, obj)
        if obj is not None:
            context["held"], holder = conflict_holder(obj, request.user)
            context["holder"] = holder
            context["holder_url"] = _change_url(holder)
            context["holder_kind"] = holder._meta.verbose_name if holder is not None else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _bulk(self, request: HttpRequest, queryset, action, done_message: str) -> None:
        done, refused = 0, []
        for job in queryset:
            try:
                action(actor=request.user, job=job)
                done += 1
            except ValidationError as error:
                refused.append(" ".join(error.messages))
        if done:
            messages.success(request, done_message % {"count": done})
        for message in refused[:10]:
            messages.warning(request, message)

    @admin.action(description=gettext_lazy("Retry the selected failed or cancelled jobs"), permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset) -> None:
        done = _("%(count)s job(s) will be tried again.")
        self._bulk(request, self._managed(request, queryset), services.job_retry, done)

    @admin.action(description=gettext_lazy("Cancel the selected waiting or failed jobs"), permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset) -> None:
        self._bulk(request, self._managed(request, queryset), services.job_cancel, _("%(count)s job(s) cancelled."))

    def _managed(self, request: HttpRequest, queryset):
        """The selected jobs the login may act on; the others are named as left out."""
        managed = access.restrict(queryset, request.user, CHANGE)
        skipped = queryset.count() - managed.count()
        if skipped:
            messages.warning(
                request,
                _("%(count)s selected job(s) left out: only who manages their tenant may do this.")
                % {"count": skipped},
            )
        return managed


@admin.register(ProvisioningBatch)
class ProvisioningBatchAdmin(ScopedAdmin):
    list_display = ["label", "organization", "created_by", "created_at", "jobs_link"]
    list_select_related = ["organization", "created_by"]
    search_fields = ["label"]
    readonly_fields = ["label", "organization", "created_by", "created_at"]

    @admin.display(description=gettext_lazy("jobs"))
    def jobs_link(self, batch: ProvisioningBatch) -> str:
        url = reverse("admin:telephony_provisioningjob_changelist") + f"?batch__id__exact={batch.pk}"
        return format_html('<a href="{}">{}</a>', url, _("jobs of this batch"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
