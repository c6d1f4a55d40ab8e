"""Sync state on every mirrored object's admin: a badge in the list, and on its page the state,
the backend's message and the object's latest provisioning jobs."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony import selectors
from telephony.models import JobStatus, SyncState
from tenants.admin_scoping import current_user, rendering_for
from tenants.choices import choice_label


def badge(value: str, label: str) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', value, label)


class BackendRefAdminMixin:
    """Shows how the backend addresses the object (its driver's reference), read-only."""

    @admin.display(description=gettext_lazy("backend reference"))
    def backend_reference(self, obj) -> str:
        ref = getattr(obj, "backend_ref", None)
        if not ref:
            return _("— (not on the PBX yet)")
        return format_html_join(
            "", "<div><code>{}</code>: <code>{}</code></div>", ((name, ref[name]) for name in sorted(ref))
        )


class SyncStateAdminMixin(BackendRefAdminMixin):
    """For ModelAdmins of MirroredModel subclasses. The provisioning section follows the object's
    push live: while a job of it is unfinished, the page fetches the section again every few
    seconds (its own URL, scoped like the page) and redraws it, so a badge never stays "Pending"
    next to a job that succeeded."""

    @property
    def media(self) -> forms.Media:
        # A property, not a Media class: a subclass's own Media would replace it, not add to it.
        return super().media + forms.Media(css={"all": ["telephony/admin.css"]}, js=["telephony/live-state.js"])

    @admin.display(description=gettext_lazy("sync"), ordering="sync_state")
    def sync_badge(self, obj) -> str:
        return badge(obj.sync_state, choice_label(obj, "sync_state"))

    def get_urls(self):
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}_provisioning"
        view = self.admin_site.admin_view(self.provisioning_view)
        return [path("<path:object_id>/provisioning/", view, name=name), *super().get_urls()]

    def provisioning_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The provisioning section alone, as the page shows it (for the page's live refresh)."""
        obj = self.get_object(request, object_id)  # 404 for what the login may not see
        with rendering_for(request.user):
            return HttpResponse(self.provisioning(obj))

    @admin.display(description=gettext_lazy("provisioning"))
    def provisioning(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        jobs = list(selectors.jobs_of(obj, current_user()))
        # The state is read after the jobs: a job that finished in between shows its outcome on both.
        state, message = type(obj)._default_manager.filter(pk=obj.pk).values_list("sync_state", "sync_message").get()
        header = badge(state, SyncState(state).label)
        if message:
            header = format_html("{} {}", header, message)
        live = any(job.status in (JobStatus.PENDING, JobStatus.RUNNING) for job in jobs) or state == SyncState.PENDING
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_provisioning", args=[obj.pk])
        return format_html(
            '<div class="live-provisioning" data-live-url="{}" data-live="{}">{}{}</div>',
            url,
            "yes" if live else "no",
            header,
            _job_table(jobs),
        )


def _job_table(jobs: list) -> str:
    if not jobs:
        return ""
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                reverse("admin:telephony_provisioningjob_change", args=[job.pk]),
                job.pk,
                job.operation,
                badge(job.status, job.get_status_display()),
                job.attempts,
                job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                job.last_error[:200],
            )
            for job in jobs
        ),
    )
    return format_html(
        '<table class="job-table"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>'
        "{}</table>",
        _("job"),
        _("operation"),
        _("status"),
        _("attempts"),
        _("created"),
        _("message"),
        rows,
    )
