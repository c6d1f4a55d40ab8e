"""The provisioning outbox: one job per backend operation, written in the same transaction as the
change it pushes, run by Celery workers, never lost."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy

from tenants.access import AccessPolicy
from tenants.models import Organization

from .platforms import Platform, Server
from .tenants import Tenant


class JobStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    RUNNING = "running", gettext_lazy("Running")
    SUCCEEDED = "succeeded", gettext_lazy("Succeeded")
    FAILED = "failed", gettext_lazy("Failed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED)


class WaitState(models.TextChoices):
    """Why a pending job has not run yet (the last time a worker looked at it)."""

    NONE = "", "—"
    SLOT = "slot", gettext_lazy("a free slot on its server")
    EARLIER = "earlier", gettext_lazy("an earlier job")
    FAILED = "failed", gettext_lazy("a failed job (retry or cancel it)")


class ProvisioningBatch(models.Model):
    """The jobs of one bulk change (a CSV import), followed together on one progress bar."""

    access_policy = AccessPolicy(("organization",), entity_actions=frozenset())

    organization = models.ForeignKey(
        Organization, verbose_name=gettext_lazy("organization"), on_delete=models.CASCADE, related_name="batches"
    )
    label = models.CharField(verbose_name=gettext_lazy("label"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("provisioning batch")
        verbose_name_plural = gettext_lazy("provisioning batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label


class ProvisioningJob(models.Model):
    """One change to push to one backend: what to do (operation + payload snapshot), to what
    (target), and how it went (status, attempts, last error in the backend's words, timings).

    Jobs of one target run in the order they were written (create before update before delete);
    its `dependencies` name the other targets whose earlier jobs must finish first too (a user waits
    for its tenant and entity). The per-server concurrency limit is enforced when a worker claims a job.
    """

    access_policy = AccessPolicy(
        ("tenant__organization", "platform__organization", "organization"),
        entity_actions=frozenset(),
    )

    # Indexes are chosen with care: a bulk import writes 100,000 jobs at once, and every index costs.
    target_type = models.ForeignKey(
        ContentType, verbose_name=gettext_lazy("target type"), on_delete=models.PROTECT, db_index=False
    )
    target_id = models.BigIntegerField(verbose_name=gettext_lazy("target id"))
    target = GenericForeignKey("target_type", "target_id")
    target_key = models.CharField(
        verbose_name=gettext_lazy("target key"), max_length=80, help_text=gettext_lazy("model:pk of the target")
    )
    target_label = models.CharField(verbose_name=gettext_lazy("target label"), max_length=300)
    operation = models.CharField(verbose_name=gettext_lazy("operation"), max_length=40)
    payload = models.JSONField(verbose_name=gettext_lazy("payload"), default=dict)
    releases = models.CharField(
        verbose_name=gettext_lazy("releases"),
        max_length=500,
        blank=True,
        default="",
        help_text=gettext_lazy(
            "Natural keys on the PBX (an internal number, an account name) this job lets go of, space "
            "separated: a later job of another object that takes one of them waits for this one."
        ),
    )
    platform = models.ForeignKey(
        Platform, verbose_name=gettext_lazy("platform"), null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    server = models.ForeignKey(
        Server,
        verbose_name=gettext_lazy("server"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_index=False,
    )
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=gettext_lazy("tenant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    batch = models.ForeignKey(
        ProvisioningBatch,
        verbose_name=gettext_lazy("batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    # Whose change it is: its tenant's customer, or the organization of what it changes when that is
    # no tenant's (a Configurator link). Kept when the tenant is deleted, so that its jobs stay in the
    # history of those who made them.
    organization = models.ForeignKey(
        Organization,
        verbose_name=gettext_lazy("organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
    )

    status = models.CharField(
        verbose_name=gettext_lazy("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    attempts = models.PositiveIntegerField(verbose_name=gettext_lazy("attempts"), default=0)
    max_attempts = models.PositiveIntegerField(verbose_name=gettext_lazy("max attempts"), default=8)
    next_attempt_at = models.DateTimeField(verbose_name=gettext_lazy("next attempt at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(verbose_name=gettext_lazy("dispatched at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(verbose_name=gettext_lazy("lease expires at"), null=True, blank=True)
    waiting_for = models.CharField(
        verbose_name=gettext_lazy("waiting for"),
        max_length=10,
        choices=WaitState.choices,
        default=WaitState.NONE,
        blank=True,
    )
    last_error = models.TextField(verbose_name=gettext_lazy("last error"), blank=True)
    error_kind = models.CharField(verbose_name=gettext_lazy("error kind"), max_length=30, blank=True)
    result = models.JSONField(
        verbose_name=gettext_lazy("result"),
        default=dict,
        blank=True,
        help_text=gettext_lazy(
            "Backend identity learnt on success; on a conflict, the backend object another portal row holds."
        ),
    )

    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    started_at = models.DateTimeField(verbose_name=gettext_lazy("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(verbose_name=gettext_lazy("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("provisioning job")
        verbose_name_plural = gettext_lazy("provisioning jobs")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="job_due"),
            # a server's queue in order: the running count, and the next due job a drain claims
            models.Index(fields=["server", "status", "id"], name="job_server_queue"),
            models.Index(fields=["target_key", "id"], name="job_target_order"),
            models.Index(fields=["target_type", "target_id"], name="job_target"),
        ]

    # The planner sets this on a job not saved yet; `planning.enqueue` writes it as JobDependency rows.
    planned_dependencies: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"#{self.pk} {self.operation} {self.target_label}"

    def dependency_keys(self) -> list[str]:
        """The other targets whose earlier jobs must finish before this one runs, sorted."""
        return sorted(dependency.target_key for dependency in self.dependencies.all())

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED)

    @property
    def duration_ms(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds() * 1000
        return None


class JobDependency(models.Model):
    """A target whose earlier jobs must finish before `job` runs (besides the earlier jobs of the
    job's own target): a user's create depends on its tenant and its entity.

    A row of its own, not a list on the job, so that "which jobs wait for target K", asked each
    time a job finishes, is an index lookup."""

    # No index of the foreign key's own: the unique constraint's index starts with the job.
    job = models.ForeignKey(
        ProvisioningJob,
        verbose_name=gettext_lazy("job"),
        on_delete=models.CASCADE,
        related_name="dependencies",
        db_index=False,
    )
    target_key = models.CharField(
        verbose_name=gettext_lazy("target key"),
        max_length=80,
        help_text=gettext_lazy("model:pk of the target whose earlier jobs go first"),
    )

    class Meta:
        verbose_name = gettext_lazy("job dependency")
        verbose_name_plural = gettext_lazy("job dependencies")
        constraints = [models.UniqueConstraint(fields=["job", "target_key"], name="job_dependency_unique")]
        indexes = [models.Index(fields=["target_key", "job"], name="job_dependency_target")]

    def __str__(self) -> str:
        return f"job #{self.job_id} after {self.target_key}"


class JobAttempt(models.Model):
    """One try of a job: when, how it ended, and the redacted HTTP exchanges it made."""

    access_policy = AccessPolicy(
        ("job__tenant__organization", "job__platform__organization"), entity_actions=frozenset()
    )

    job = models.ForeignKey(
        ProvisioningJob, verbose_name=gettext_lazy("job"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(verbose_name=gettext_lazy("number"))
    started_at = models.DateTimeField(verbose_name=gettext_lazy("started at"))
    finished_at = models.DateTimeField(verbose_name=gettext_lazy("finished at"), null=True, blank=True)
    outcome = models.CharField(verbose_name=gettext_lazy("outcome"), max_length=20)
    error = models.TextField(verbose_name=gettext_lazy("error"), blank=True)
    exchanges = models.JSONField(verbose_name=gettext_lazy("exchanges"), default=list)
    # every call the attempt made, the ones beyond the exchanges kept too
    calls = models.PositiveIntegerField(verbose_name=gettext_lazy("backend calls"), default=0)
    worker = models.CharField(verbose_name=gettext_lazy("worker"), max_length=200, blank=True)

    class Meta:
        verbose_name = gettext_lazy("job attempt")
        verbose_name_plural = gettext_lazy("job attempts")
        ordering = ["job", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of job #{self.job_id}: {self.outcome}"

    @property
    def calls_made(self) -> int:
        """The calls this attempt made (an attempt recorded before they were counted: those it logged)."""
        return self.calls or len(self.exchanges)
