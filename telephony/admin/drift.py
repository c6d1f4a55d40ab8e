"""Drift scans in the admin: each report with what it found (read-only; a scan is asked for with
"Check against PBX" on servers and tenants)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.sync import badge
from telephony.models import DriftFinding, DriftScan, Entity, FindingKind, LineTemplate, Server
from telephony.services import drift as services
from telephony.services import drift_repairs as repairs
from tenants import access
from tenants.access import CHANGE, VIEW
from tenants.admin_scoping import ScopedAdmin, ScopedInline
from tenants.choices import choice_label


class ReadOnly:
    """What a scan found is the PBX's word: it is read, and repaired through the actions."""

    class Media:
        css = {"all": ["telephony/admin.css"]}

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_repair_permission(self, request: HttpRequest) -> bool:
        """Read-only pages whose actions repair: offered to the logins that manage PBX objects somewhere."""
        return self._may_manage_somewhere(request)


class DriftFindingInline(ReadOnly, ScopedInline):
    model = DriftFinding
    fields = ["kind_badge", "object_kind", "label", "tenant", "what_differs", "resolved"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    @admin.display(description=gettext_lazy("finding"))
    def kind_badge(self, finding: DriftFinding) -> str:
        return badge(finding.kind, choice_label(finding, "kind"))

    @admin.display(description=gettext_lazy("portal → PBX"))
    def what_differs(self, finding: DriftFinding) -> str:
        return format_html_join(
            "", "<div>{}: {} → {}</div>", ((d["label"], d["portal"], d["pbx"]) for d in finding.differences)
        )

    @admin.display(description=gettext_lazy("resolved"))
    def resolved(self, finding: DriftFinding) -> str:
        return finding.resolution or "—"


@admin.register(DriftScan)
class DriftScanAdmin(ReadOnly, ScopedAdmin):
    list_display = ["pk", "server", "tenant", "trigger", "status_badge", "started_at", "checked", "found", "held_back"]
    list_filter = ["status", "trigger"]
    list_select_related = ["server", "tenant"]
    search_fields = ["server__name", "tenant__name"]
    inlines = [DriftFindingInline]
    fields = ["server", "tenant", "trigger", "requested_by", "status", "started_at", "finished_at", "checked"]
    fields += ["found", "held_back", "confirmed_by", "confirmed_at", "error"]
    readonly_fields = fields
    actions = ["confirm_held_back"]

    @admin.action(
        description=gettext_lazy("Confirm that the tenants these scans held back are to be repaired"),
        permissions=["repair"],
    )
    def confirm_held_back(self, request: HttpRequest, queryset: QuerySet) -> None:
        for scan in queryset:
            try:
                repairs.drift_scan_confirm(actor=request.user, scan_id=scan.pk)
            except (ValidationError, PermissionDenied) as refused:
                reason = " ".join(getattr(refused, "messages", [str(refused)]))
                messages.error(request, _("Scan %(scan)s: %(reason)s") % {"scan": scan.pk, "reason": reason})
            else:
                messages.success(
                    request,
                    _("Scan %(scan)s: repairs in %(held_back)s confirmed.")
                    % {"scan": scan.pk, "held_back": scan.held_back},
                )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, scan: DriftScan) -> str:
        return badge(scan.status, choice_label(scan, "status"))

    @admin.display(description=gettext_lazy("found"))
    def found(self, scan: DriftScan) -> str:
        if not scan.counts:
            return _("nothing") if scan.status == "complete" else "—"
        return format_html_join(", ", "{} {}", ((count, kind) for kind, count in sorted(scan.counts.items())))


@admin.action(
    description=gettext_lazy("Check against PBX (read it back and compare with the portal)"), permissions=["change"]
)
def check_against_pbx(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """On servers or tenants: queue a drift scan of each the login manages."""
    managed = list(access.restrict(queryset, request.user, CHANGE))
    which = {"servers": managed} if queryset.model is Server else {"tenants": managed}
    queued = services.drift_scan_requested(actor=request.user, **which)
    if queued:
        messages.info(
            request,
            _("%(count)s check(s) queued; each report appears under Drift scans when it is done.") % {"count": queued},
        )
    skipped = queryset.count() - len(managed)
    if skipped:
        messages.warning(
            request, _("%(count)s selected left out: only their administrators may check them.") % {"count": skipped}
        )


class AdoptForm(forms.Form):
    """Where a user found only on the PBX becomes a line: an entity of a tenant on its server, and a
    line template."""

    entity = forms.ModelChoiceField(queryset=Entity.objects.none(), label=gettext_lazy("Entity"))
    template = forms.ModelChoiceField(queryset=LineTemplate.objects.none(), label=gettext_lazy("line template"))

    def __init__(self, *args: Any, login: Any, server_ids: set[int], **kwargs: Any):
        super().__init__(*args, **kwargs)
        entities = Entity.objects.filter(tenant__server__in=server_ids).select_related("tenant")
        self.fields["entity"].queryset = access.restrict(entities, login, CHANGE).order_by("tenant__name", "name")
        self.fields["template"].queryset = access.restrict(LineTemplate.objects.all(), login, VIEW).order_by("name")


@admin.register(DriftFinding)
class DriftFindingAdmin(ReadOnly, ScopedAdmin):
    """What the scans found, open ones first, with the repairs a person decides on."""

    list_display = ["kind_badge", "label", "tenant", "object_kind", "what_differs", "scan_link", "resolution"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter), "object_kind"]
    list_select_related = ["tenant", "scan"]
    search_fields = ["label", "tenant__name"]
    ordering = ["resolved_at", "-id"]
    actions = ["push_portal_value", "accept_pbx_value", "recreate", "forget", "adopt"]
    kind_badge = DriftFindingInline.kind_badge
    what_differs = DriftFindingInline.what_differs

    @admin.display(description=gettext_lazy("scan"))
    def scan_link(self, finding: DriftFinding) -> str:
        url = reverse("admin:telephony_driftscan_change", args=[finding.scan_id])
        return format_html('<a href="{}">#{}</a>', url, finding.scan_id)

    def _repair(self, request: HttpRequest, queryset: QuerySet, repair: Any, done: str, **values: Any) -> None:
        """Repair each finding; `done` says how many were repaired (its %(count)s, and `values`)."""
        repaired, refused = 0, []
        order = {"tenant": 0, "entity": 1}  # a tenant before its entities, an entity before its lines
        for finding in sorted(queryset, key=lambda f: (order.get(f.object_kind, 2), f.pk)):
            if DriftFinding.objects.filter(pk=finding.pk, resolved_at__isnull=False).exists():
                continue  # dealt with by a repair of this selection (its tenant's)
            try:
                repair(actor=request.user, finding_id=finding.pk)
            except ValidationError as error:
                refused.append(f"{finding.label}: {' '.join(error.messages)}")
            except (Http404, PermissionDenied):
                refused.append(_("%(label)s: only the staff who manage it may repair it.") % {"label": finding.label})
            else:
                repaired += 1
        if repaired:
            messages.success(request, done % {"count": repaired, **values})
        for message in refused[:10]:
            messages.error(request, message)

    @admin.action(description=gettext_lazy("Push the portal's value to the PBX"), permissions=["repair"])
    def push_portal_value(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = _("%(count)s pushed again; the jobs are on their way.")
        self._repair(request, queryset, repairs.drift_push_portal_value, done)

    @admin.action(description=gettext_lazy("Accept the PBX's value into the portal"), permissions=["repair"])
    def accept_pbx_value(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._repair(request, queryset, repairs.drift_accept_pbx_value, _("%(count)s taken from the PBX."))

    @admin.action(description=gettext_lazy("Make again on the PBX what is missing there"), permissions=["repair"])
    def recreate(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = _("%(count)s to be made again; the jobs are on their way.")
        self._repair(request, queryset, repairs.drift_recreate, done)

    @admin.action(
        description=gettext_lazy("Forget lines gone from the PBX for good (nothing is sent)"), permissions=["repair"]
    )
    def forget(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._repair(request, queryset, repairs.drift_forget, _("%(count)s forgotten."))

    @admin.action(description=gettext_lazy("Adopt users found only on the PBX…"), permissions=["repair"])
    def adopt(self, request: HttpRequest, queryset: QuerySet):
        findings = list(queryset.filter(kind=FindingKind.UNMANAGED, object_kind="user", resolved_at__isnull=True))
        if not findings:
            messages.warning(request, _("Choose open findings of users found only on the PBX to adopt."))
            return None
        server_ids = {finding.scan.server_id for finding in findings}
        form = AdoptForm(request.POST if "adopt" in request.POST else None, login=request.user, server_ids=server_ids)
        if form.is_valid():
            entity, template = form.cleaned_data["entity"], form.cleaned_data["template"]
            self._repair(
                request,
                queryset.filter(pk__in=[f.pk for f in findings]),
                lambda **kw: repairs.drift_adopt(entity=entity, template=template, **kw),
                _("%(count)s adopted into %(entity)s."),
                entity=entity,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Adopt users found only on the PBX"),
            "form": form,
            "findings": findings,
            "action": "adopt",
            "selected": [f.pk for f in findings],
        }
        return TemplateResponse(request, "admin/telephony/drift_adopt.html", context)
