"""The engine's side of ownership: which portal row a job acts for, and the claims that keep any
backend object held by at most one row.

A job runs its driver calls inside `owning(...)`, naming its rows by kind (the tenant, the entity,
the line template's mirror on the platform, the PBX user). When the driver finds an object by its
natural key, it asks to claim it for the row of that kind: granted when nobody holds it (the claim
is written at once, before anything is sent), or when that row already does; refused with a
ConflictError when another row holds it. What a create or update learns is claimed the same way
before the job's success is recorded, and a delete that reached the PBX releases its row's claims.

A first try's create claims what the PBX just made for a row that no job ever pushed: there is no
holder to look up, so the claim is written in the transaction that records the job's success
(`write_deferred`), where a unique key that another row holds turns the success into a conflict.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from telephony.backends.base import BackendRef, Driver, Ownership
from telephony.backends.errors import ConflictError
from telephony.models import BackendClaim, Platform, ProvisioningJob
from telephony.provisioning import job_statements
from tenants import access
from tenants.access import VIEW
from tenants.models import Organization

Target = tuple[int, int]  # (content type id, row id): a row that may be gone by now (a delete)


def row_target(row: models.Model | None) -> Target | None:
    if row is None or row.pk is None:
        return None
    return ContentType.objects.get_for_model(type(row)).pk, row.pk


def job_target(job: ProvisioningJob) -> Target:
    return job.target_type_id, job.target_id


class JobOwnership(Ownership):
    """The rows one job acts for, by kind; claims are checked and written against them."""

    def __init__(self, platform: Platform, targets: dict[str, Target | None], organization_id: int | None = None):
        self.platform = platform
        self.organization_id = organization_id  # whose change it is: who reads its messages
        self.targets = {kind: target for kind, target in targets.items() if target is not None}
        self.deferred: list[tuple[str, str, Target]] = []  # fresh claims, written with the success

    def _holder(self, kind: str, key: str) -> Target | None:
        found = (
            BackendClaim.objects.filter(platform=self.platform, kind=kind, key=key)
            .values_list("target_type_id", "target_id")
            .first()
        )
        return tuple(found) if found else None

    def claim(self, kind: str, key: str, *, fresh: bool = False) -> None:
        """`fresh`: the object was made just now for the row, which no earlier job ever pushed; the
        claim waits for the transaction that records the job's success (`write_deferred`)."""
        target = self.targets.get(kind)
        if target is None:
            raise ConflictError(
                f"the PBX holds a {kind} ({key}) that this change has no portal row for; nothing changed"
            )
        if fresh:
            self.deferred.append((kind, key, target))
            return
        holder = self._holder(kind, key)
        if holder == target:
            return
        if holder is None:
            try:
                with transaction.atomic():
                    self._write(kind, key, target)
                return
            except IntegrityError:  # another worker claimed it in between
                holder = self._holder(kind, key)
                if holder == target:
                    return
        raise self.taken(kind, key, holder)

    def _write(self, kind: str, key: str, target: Target) -> None:
        job_statements.claim(self.platform.pk, kind, key, target, timezone.now())

    def taken(self, kind: str, key: str, holder: Target | None) -> ConflictError:
        """The refusal of a claim that `holder` has: it names that row only to the organization whose
        change this is when that organization may see it (the message reaches its logins, the
        self-service site and the API); staff see the row on the job's page (`conflict_holder`)."""
        described = describe_holder(holder, self.organization_id)
        return ConflictError(
            f"the PBX's {kind} {key} belongs to another portal row ({described}); nothing was changed",
            claim=(kind, key),
        )

    def write_deferred(self) -> None:
        """Write the fresh claims inside the caller's transaction. A key that another row holds
        raises IntegrityError: the caller rolls its transaction back and asks `refusal()`."""
        for kind, key, target in self.deferred:
            self._write(kind, key, target)

    def refusal(self) -> ConflictError:
        """Why a deferred claim was refused (asked after the rollback)."""
        for kind, key, target in self.deferred:
            holder = self._holder(kind, key)
            if holder is not None and holder != target:
                return self.taken(kind, key, holder)
        return ConflictError("another portal row claimed what this change made, at the same moment")

    def is_free(self, kind: str, key: str) -> bool:
        holder = self._holder(kind, key)
        return holder is None or holder == self.targets.get(kind)

    def confirm(
        self, driver: Driver, kind: str, identity: BackendRef | None, tenant: str = "", *, fresh: bool = False
    ) -> None:
        """Claim what a create or update returned for the row (a conflict fails the job)."""
        if identity is None:
            return
        key = driver.claim_key(kind, identity, tenant)
        if key:
            self.claim(kind, key, fresh=fresh)


@contextlib.contextmanager
def owning(job: ProvisioningJob, driver: Driver, **targets: Target | None) -> Iterator[JobOwnership]:
    """Run a job's driver calls for its rows; the tenant is the job's own unless named."""
    targets.setdefault("tenant", row_target(job.tenant) if job.tenant_id else None)
    ownership = JobOwnership(job.platform, targets, job.organization_id)
    job.ownership = ownership  # its deferred claims are written with the job's success
    with driver.owned_by(ownership):
        yield ownership


def release(job: ProvisioningJob) -> None:
    """The job's row is gone from the PBX: nothing holds its objects any more."""
    BackendClaim.objects.filter(target_type_id=job.target_type_id, target_id=job.target_id).delete()


def describe_holder(target: Target | None, organization_id: int | None) -> str:
    """The row that holds a claim, as the organization `organization_id` may read it: by name when
    that organization may see the row (the permission tree's own answer: its rows, those below it
    and the resources shared down to it), otherwise only as another organization's. What exists
    outside a customer's tree is never named to it."""
    if target is None:
        return "unknown"
    model = ContentType.objects.get_for_id(target[0]).model_class()
    if model is None:
        return "a row that no longer exists"
    name = model._meta.verbose_name
    row = model._default_manager.filter(pk=target[1]).first()
    if row is None:
        return f"a deleted {name}"
    organization = Organization.objects.filter(pk=organization_id).first() if organization_id else None
    seen = organization is not None and access.can(access.OrganizationViewer(organization), VIEW, row)
    return f"{name} {row}" if seen else f"a {name} of another organization"
