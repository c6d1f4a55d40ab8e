"""What the PBX was seen to hold: one report per drift scan, and what it found."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy

from tenants.access import AccessPolicy

from .platforms import Server
from .tenants import Tenant


class ScanStatus(models.TextChoices):
    RUNNING = "running", gettext_lazy("Running")
    COMPLETE = "complete", gettext_lazy("Complete")
    FAILED = "failed", gettext_lazy("Failed")  # a read failed: nothing was concluded, the previous report stands


class ScanTrigger(models.TextChoices):
    SCHEDULE = "schedule", gettext_lazy("Schedule")
    STAFF = "staff", gettext_lazy("Staff")
    PUSH = "push", gettext_lazy("After a push")


class DriftScan(models.Model):
    """One comparison of a server's mirror (or of one tenant's) with what its PBX holds: when, who
    asked, how it went, and how many findings of each kind. A scan whose read-back failed part-way
    concludes nothing: its findings are not stored and the rows keep their state."""

    access_policy = AccessPolicy(("server__platform__organization",), entity_actions=frozenset())

    server = models.ForeignKey(
        Server, verbose_name=gettext_lazy("server"), on_delete=models.CASCADE, related_name="drift_scans"
    )
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=gettext_lazy("tenant"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="drift_scans",
        help_text=gettext_lazy("Empty: all of it."),
    )
    trigger = models.CharField(
        verbose_name=gettext_lazy("trigger"), max_length=10, choices=ScanTrigger.choices, default=ScanTrigger.STAFF
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    status = models.CharField(
        verbose_name=gettext_lazy("status"), max_length=10, choices=ScanStatus.choices, default=ScanStatus.RUNNING
    )
    started_at = models.DateTimeField(verbose_name=gettext_lazy("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(verbose_name=gettext_lazy("finished at"), null=True, blank=True)
    checked = models.PositiveIntegerField(
        verbose_name=gettext_lazy("checked"), default=0, help_text=gettext_lazy("Portal rows compared with the PBX.")
    )
    readers = models.PositiveSmallIntegerField(
        verbose_name=gettext_lazy("readers"),
        default=1,
        help_text=gettext_lazy("Slots of the server's concurrency limit the scan holds: its calls in flight at once."),
    )
    counts = models.JSONField(
        verbose_name=gettext_lazy("counts"), default=dict, blank=True, help_text=gettext_lazy("Findings by kind.")
    )
    error = models.TextField(
        verbose_name=gettext_lazy("error"),
        blank=True,
        help_text=gettext_lazy("Why the read-back failed, in the backend's words."),
    )
    held_back = models.TextField(
        verbose_name=gettext_lazy("held back"),
        blank=True,
        help_text=gettext_lazy(
            "Tenants where so much changed at once that nothing is repaired without a confirmation."
        ),
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(
        verbose_name=gettext_lazy("confirmed at"),
        null=True,
        blank=True,
        help_text=gettext_lazy("When a staff member confirmed that the held-back tenants are to be repaired."),
    )

    class Meta:
        verbose_name = gettext_lazy("drift scan")
        verbose_name_plural = gettext_lazy("drift scans")
        ordering = ["-id"]
        indexes = [models.Index(fields=["server", "status", "-id"], name="drift_scan_latest")]

    def __str__(self) -> str:
        return f"scan {self.pk} of {self.server} ({self.get_status_display()})"


class FindingKind(models.TextChoices):
    MISSING = "missing", gettext_lazy("Missing on the PBX")
    DIFFERS = "differs", gettext_lazy("Differs")
    UNMANAGED = "unmanaged", gettext_lazy("Only on the PBX")
    DANGLING = "dangling", gettext_lazy("Reference points nowhere")
    DUPLICATE = "duplicate", gettext_lazy("Claimed by two rows")


class DriftFinding(models.Model):
    """One thing a scan found: a portal row the PBX does not hold, or holds otherwise (which fields,
    the portal's value and the PBX's), an object only on the PBX (with its reference, to adopt),
    a reference that names nothing, or two rows claiming one object. Resolved by a repair."""

    access_policy = AccessPolicy(("tenant__organization", "scan__server__platform__organization"))

    scan = models.ForeignKey(
        DriftScan, verbose_name=gettext_lazy("scan"), on_delete=models.CASCADE, related_name="findings"
    )
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=gettext_lazy("tenant"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="drift_findings",
    )
    kind = models.CharField(verbose_name=gettext_lazy("kind"), max_length=10, choices=FindingKind.choices)
    object_kind = models.CharField(
        verbose_name=gettext_lazy("object kind"),
        max_length=20,
        help_text=gettext_lazy("entity, template, user or number"),
    )
    target_type = models.ForeignKey(
        ContentType, verbose_name=gettext_lazy("target type"), null=True, blank=True, on_delete=models.CASCADE
    )
    target_id = models.BigIntegerField(verbose_name=gettext_lazy("target id"), null=True, blank=True)
    label = models.CharField(
        verbose_name=gettext_lazy("label"),
        max_length=300,
        help_text=gettext_lazy("What it is, in words (a user's name and number)."),
    )
    differences = models.JSONField(
        verbose_name=gettext_lazy("differences"),
        default=list,
        blank=True,
        help_text=gettext_lazy("[{field, portal, pbx}] for a row the PBX holds otherwise."),
    )
    observed = models.JSONField(
        verbose_name=gettext_lazy("observed"),
        default=dict,
        blank=True,
        help_text=gettext_lazy("What the PBX holds, in portal terms."),
    )
    backend_ref = models.JSONField(
        verbose_name=gettext_lazy("backend ref"),
        default=dict,
        blank=True,
        help_text=gettext_lazy("The PBX object's reference, to adopt it."),
    )
    resolved_at = models.DateTimeField(verbose_name=gettext_lazy("resolved at"), null=True, blank=True)
    resolution = models.CharField(verbose_name=gettext_lazy("resolution"), max_length=300, blank=True)

    class Meta:
        verbose_name = gettext_lazy("drift finding")
        verbose_name_plural = gettext_lazy("drift findings")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="drift_finding_target"),
            models.Index(fields=["tenant", "resolved_at"], name="drift_finding_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"
