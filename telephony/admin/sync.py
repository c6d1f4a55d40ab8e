"""Sync state on every mirrored object's admin: a badge in the list, and on its page the state,
the backend's message and the object's latest provisioning jobs."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from telephony import selectors
from tenants.admin_scoping import current_user


def badge(value: str, label: str) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', value, label)


class BackendRefAdminMixin:
    """Shows how the backend addresses the object (its driver's reference), read-only."""

    @admin.display(description="backend reference")
    def backend_reference(self, obj) -> str:
        ref = getattr(obj, "backend_ref", None)
        if not ref:
            return "— (not on the PBX yet)"
        return format_html_join(
            "", "<div><code>{}</code>: <code>{}</code></div>", ((name, ref[name]) for name in sorted(ref))
        )


class SyncStateAdminMixin(BackendRefAdminMixin):
    """For ModelAdmins of MirroredModel subclasses."""

    class Media:
        css = {"all": ["telephony/admin.css"]}

    @admin.display(description="sync", ordering="sync_state")
    def sync_badge(self, obj) -> str:
        return badge(obj.sync_state, obj.get_sync_state_display())

    @admin.display(description="provisioning")
    def provisioning(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        header = badge(obj.sync_state, obj.get_sync_state_display())
        if obj.sync_message:
            header = format_html("{} {}", header, obj.sync_message)
        jobs = list(selectors.jobs_of(obj, current_user()))
        if not jobs:
            return header
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
            '{}<table class="job-table"><tr><th>job</th><th>operation</th><th>status</th><th>attempts</th>'
            "<th>created</th><th>message</th></tr>{}</table>",
            header,
            rows,
        )
