"""Sync state: whether what the portal holds has reached the backend."""

from __future__ import annotations

from django.db import models


class SyncState(models.TextChoices):
    IN_SYNC = "in_sync", "In sync"
    PENDING = "pending", "Pending"
    FAILED = "failed", "Failed"


class MirroredModel(models.Model):
    """A row the portal pushes to a backend: its sync state follows its provisioning jobs."""

    sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.PENDING, editable=False)
    sync_message = models.CharField(max_length=1000, blank=True, editable=False)

    class Meta:
        abstract = True
