"""Sync state: whether what the portal holds has reached the backend."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy


class SyncState(models.TextChoices):
    """Where a row stands with its PBX: its jobs say pending or failed; a read of the PBX (after a
    push, or a drift scan) says verified, drifted, missing or conflict. "Pushed" is a push that
    succeeded and that no read has confirmed yet."""

    VERIFIED = "verified", gettext_lazy("Verified")
    IN_SYNC = "in_sync", gettext_lazy("Pushed, not yet checked")
    PENDING = "pending", gettext_lazy("Pending")
    DRIFTED = "drifted", gettext_lazy("Drifted")
    MISSING = "missing", gettext_lazy("Missing on the PBX")
    CONFLICT = "conflict", gettext_lazy("Conflict")
    FAILED = "failed", gettext_lazy("Failed")


# What a read of the PBX concluded: kept while no job is unfinished (a job's outcome replaces it).
SEEN_STATES = frozenset({SyncState.VERIFIED, SyncState.DRIFTED, SyncState.MISSING, SyncState.CONFLICT})


class MirroredModel(models.Model):
    """A row the portal pushes to a backend: its sync state follows its provisioning jobs, and what
    a read of the PBX last saw of it (`verified_at`: when the PBX was last seen to hold it)."""

    sync_state = models.CharField(
        verbose_name=gettext_lazy("sync state"),
        max_length=10,
        choices=SyncState.choices,
        default=SyncState.PENDING,
        editable=False,
    )
    sync_message = models.CharField(
        verbose_name=gettext_lazy("sync message"), max_length=1000, blank=True, editable=False
    )
    verified_at = models.DateTimeField(verbose_name=gettext_lazy("verified at"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class BackendRefField(models.JSONField):
    """How the backend addresses the object (its ids there): JSON that only the platform's driver
    reads and writes; the portal stores it and hands it back. Written by the provisioning engine
    alone, never by a form or a service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("verbose_name", gettext_lazy("backend reference"))
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


# Columns only the provisioning engine writes (what a backend answered), never a service.
BACKEND_IDENTITY_COLUMNS = frozenset({"backend_ref"})


def save_changes(obj: models.Model, stored: models.Model) -> list[str]:
    """Save only what the caller changed, compared with the row as it is now (`stored`, read under
    a lock): a copy of the row read before a job wrote the backend identity or the sync state (or
    a check its last answer) never wipes them. Fields nobody edits are left to whoever writes them.
    The caller's copy gets the stored values of those fields. Returns the saved field names."""
    engine_written = BACKEND_IDENTITY_COLUMNS if isinstance(obj, MirroredModel) else frozenset()
    changed, stamps = [], []
    for field in obj._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False):
            stamps.append(field.attname)
        elif not field.editable or field.name in engine_written:
            setattr(obj, field.attname, getattr(stored, field.attname))
        elif getattr(obj, field.attname) != getattr(stored, field.attname):
            changed.append(field.attname)
    if changed:
        obj.save(update_fields=changed + stamps)
    return changed
