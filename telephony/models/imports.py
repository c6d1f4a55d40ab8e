"""CSV imports: one uploaded file, its preview, and how its commit went."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from tenants.access import CHANGE, VIEW, AccessPolicy
from tenants.models import Organization

from .jobs import ProvisioningBatch
from .tenants import Tenant


class ImportKind(models.TextChoices):
    USERS = "users", gettext_lazy("PBX users")
    NUMBERS = "numbers", gettext_lazy("Phone numbers")
    ORGANIZATIONS = "organizations", gettext_lazy("Customers and tenants")


class ImportMode(models.TextChoices):
    CREATE = "create", gettext_lazy("Create new rows only")
    UPSERT = "upsert", gettext_lazy("Create new rows and update existing ones")
    UPDATE = "update", gettext_lazy("Update existing rows only")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", gettext_lazy("Uploaded")
    VALIDATING = "validating", gettext_lazy("Checking")
    INVALID = "invalid", gettext_lazy("Has errors")
    UNREADABLE = "unreadable", gettext_lazy("Cannot be read")  # the file as a whole, before any row (see `message`)
    VALIDATED = "validated", gettext_lazy("Ready to import")
    COMMITTING = "committing", gettext_lazy("Importing")
    COMMITTED = "committed", gettext_lazy("Imported")
    FAILED = "failed", gettext_lazy("Failed")


class ImportRun(models.Model):
    """One CSV file on its way in: uploaded, checked row by row (the preview), then committed in one
    transaction that writes one batch of provisioning jobs.

    The file itself is kept in the row (not on a disk the web server and the workers would have to
    share), so a Celery worker on another machine validates and commits large files. `organization`
    is the one the import writes into: the tenant's customer for users, the pool's owner for numbers,
    the reseller for customers; it scopes who sees the run.
    """

    # An entity administrator sees and confirms the users imports they uploaded themselves, while
    # they administer an entity of the run's tenant (the rows are checked against their entities).
    access_policy = AccessPolicy(
        ("organization",),
        entity_reverse_lookup="tenant__import_runs",
        entity_actions=frozenset({VIEW, CHANGE}),
        entity_creator_lookup="created_by",
    )

    kind = models.CharField(verbose_name=gettext_lazy("kind"), max_length=20, choices=ImportKind.choices)
    mode = models.CharField(
        verbose_name=gettext_lazy("mode"), max_length=10, choices=ImportMode.choices, default=ImportMode.CREATE
    )
    organization = models.ForeignKey(
        Organization, verbose_name=gettext_lazy("organization"), on_delete=models.CASCADE, related_name="import_runs"
    )
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=gettext_lazy("tenant"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="import_runs",
        help_text=gettext_lazy("Users only."),
    )
    options = models.JSONField(
        verbose_name=gettext_lazy("options"),
        default=dict,
        blank=True,
        help_text=gettext_lazy("Defaults chosen on the upload form."),
    )
    file_name = models.CharField(verbose_name=gettext_lazy("file name"), max_length=255)
    content = models.BinaryField(verbose_name=gettext_lazy("content"), editable=False)
    encoding = models.CharField(
        verbose_name=gettext_lazy("encoding"), max_length=20, blank=True, help_text=gettext_lazy("Empty: detect it.")
    )
    delimiter = models.CharField(verbose_name=gettext_lazy("delimiter"), max_length=5, blank=True)
    status = models.CharField(
        verbose_name=gettext_lazy("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    message = models.CharField(
        verbose_name=gettext_lazy("message"),
        max_length=1000,
        blank=True,
        help_text=gettext_lazy("What went wrong with the file as a whole."),
    )
    row_count = models.PositiveIntegerField(verbose_name=gettext_lazy("row count"), default=0)
    create_count = models.PositiveIntegerField(verbose_name=gettext_lazy("create count"), default=0)
    update_count = models.PositiveIntegerField(verbose_name=gettext_lazy("update count"), default=0)
    skip_count = models.PositiveIntegerField(verbose_name=gettext_lazy("skip count"), default=0)
    error_count = models.PositiveIntegerField(verbose_name=gettext_lazy("error count"), default=0)
    columns = models.JSONField(
        verbose_name=gettext_lazy("columns"),
        default=list,
        blank=True,
        help_text=gettext_lazy("How each header was understood."),
    )
    unknown_columns = models.JSONField(verbose_name=gettext_lazy("unknown columns"), default=list, blank=True)
    preview = models.JSONField(
        verbose_name=gettext_lazy("preview"),
        default=list,
        blank=True,
        help_text=gettext_lazy("The first rows as they will be saved."),
    )
    errors = models.JSONField(
        verbose_name=gettext_lazy("errors"),
        default=list,
        blank=True,
        help_text=gettext_lazy("[row, column, message] of every error."),
    )
    error_values = models.JSONField(
        verbose_name=gettext_lazy("error values"),
        default=list,
        blank=True,
        help_text=gettext_lazy("The cell each error is about, as written (never a secret's)."),
    )
    failed_row_count = models.PositiveIntegerField(
        verbose_name=gettext_lazy("failed row count"),
        default=0,
        help_text=gettext_lazy("Rows with at least one error."),
    )
    skip_invalid = models.BooleanField(
        verbose_name=gettext_lazy("skip invalid"),
        default=False,
        help_text=gettext_lazy("Confirmed as a partial import: the rows that pass are written, the others skipped."),
    )
    skipped_rows = models.BinaryField(
        verbose_name=gettext_lazy("skipped rows"),
        default=b"",
        editable=False,
        help_text=gettext_lazy(
            "The refused rows as CSV (the file's own columns and an error column; secrets left out)."
        ),
    )
    progress_done = models.PositiveIntegerField(verbose_name=gettext_lazy("progress done"), default=0)
    progress_total = models.PositiveIntegerField(verbose_name=gettext_lazy("progress total"), default=0)
    batch = models.ForeignKey(
        ProvisioningBatch,
        verbose_name=gettext_lazy("batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_runs",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)
    finished_at = models.DateTimeField(verbose_name=gettext_lazy("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = gettext_lazy("CSV import")
        verbose_name_plural = gettext_lazy("CSV imports")
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=ImportKind.values), name="import_run_kind_valid"),
            models.CheckConstraint(condition=models.Q(mode__in=ImportMode.values), name="import_run_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name}"

    @property
    def is_busy(self) -> bool:
        return self.status in (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.COMMITTING)

    @property
    def may_commit(self) -> bool:
        return self.status == ImportStatus.VALIDATED and bool(self.create_count or self.update_count)

    @property
    def may_commit_partially(self) -> bool:
        """Some rows failed, others pass, and nothing is wrong with the file as a whole: the rows
        that pass may be imported and the others skipped (when the actor chooses so)."""
        return (
            self.status == ImportStatus.INVALID
            and self.failed_row_count > 0
            and bool(self.create_count or self.update_count)
            and not any(not error[0] for error in self.errors)
            and bool(self.content)
        )
