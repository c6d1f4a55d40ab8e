"""Changing a row before it reached its PBX: a create that waits takes the new data, and a create
the PBX refused outright (which made nothing there) is tried again with the corrected data, never
with the data of its first attempt."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from telephony.models import JobStatus, ProvisioningJob, Tenant
from telephony.provisioning import specs
from telephony.provisioning.dispatch import dispatch_on_commit
from telephony.provisioning.keys import target_key
from telephony.provisioning.state import refresh_sync_state


def tenant_reached_backend(tenant: Tenant) -> bool:
    """The tenant exists on its backend: it has an identity there, or its create succeeded (an XCU
    tenant is the portal's own bookkeeping on a XiVO and gets no identity)."""
    return (
        tenant.has_backend_identity
        or ProvisioningJob.objects.filter(
            target_key=target_key(tenant), operation="tenant.create", status=JobStatus.SUCCEEDED
        ).exists()
    )


# how a job ends when the PBX refused it outright (so it made nothing)
REFUSED_KINDS = ("RejectedError", "AlreadyExistsError", "UnsupportedOperation", "conflict")


def tenant_creation_revised(tenant: Tenant) -> bool:
    """A tenant changed before it reached its backend: its waiting create job takes the new name,
    server, label and licences (in place, so the jobs already waiting for it keep waiting). False
    if the create has already been tried (the backend may hold the old name by now)."""
    creates = ProvisioningJob.objects.filter(target_key=target_key(tenant), operation="tenant.create")
    tried = creates.exclude(status=JobStatus.CANCELLED).filter(attempts__gt=0)
    # a create the PBX refused left nothing there: correcting its data is what a retry needs
    if tried.exclude(status=JobStatus.FAILED, error_kind__in=REFUSED_KINDS).exists():
        return False
    refused = list(tried.values_list("pk", flat=True))
    if refused:  # tried again at once, with the corrected data (the job reads the row when it runs)
        tried.update(
            status=JobStatus.PENDING,
            next_attempt_at=timezone.now(),
            finished_at=None,
            max_attempts=F("attempts") + 3,
            last_error="Tried again with the corrected data.",
        )
        refresh_sync_state(ContentType.objects.get_for_model(Tenant).pk, tenant.pk)
        dispatch_on_commit(refused)
    payload = {"tenant": specs.to_payload(specs.tenant_spec(tenant))}
    creates.filter(status=JobStatus.PENDING).update(
        payload=payload, server=tenant.server, platform=tenant.server.platform
    )
    return True


def never_created(obj: models.Model) -> bool:
    """The row has no reference on its PBX, and each of its creates was cancelled or refused by the
    PBX outright (which made nothing): a change of it is a new create, with the corrected data."""
    if getattr(obj, "backend_ref", None):
        return False
    creates = ProvisioningJob.objects.filter(target_key=target_key(obj), operation__endswith=".create")
    refused = Q(status=JobStatus.FAILED, error_kind__in=REFUSED_KINDS) | Q(status=JobStatus.CANCELLED)
    return creates.exists() and not creates.exclude(refused).exists()


def supersede_refused_creates(obj: models.Model) -> None:
    ProvisioningJob.objects.filter(
        target_key=target_key(obj), operation__endswith=".create", status=JobStatus.FAILED
    ).update(status=JobStatus.CANCELLED, last_error="Superseded: the data was corrected and is sent again.")
