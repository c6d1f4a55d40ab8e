"""Bulk writes for imports: many rows, and one provisioning job per pushed change (and its
dependencies), each table written with a few `executemany` statements however many rows there are,
inside the caller's transaction; the jobs go to Celery after it commits.

The per-object path (`planning`) stays the one for single changes. This one builds the same jobs:
each job starts from `planning._job` (same server, platform, attempts, batch, author), and the
payloads are the specs `planning` would write, built once per tenant, entity and template instead
of once per row (a template's spec costs a query).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction

from telephony.models import (
    Entity,
    JobDependency,
    LineTemplate,
    PbxUser,
    PhoneNumber,
    ProvisioningBatch,
    ProvisioningJob,
    Tenant,
)
from telephony.provisioning import specs
from telephony.provisioning.dispatch import dispatch
from telephony.provisioning.keys import target_key
from telephony.provisioning.planning import _job

DISPATCH_CHUNK = 500


# --- rows --------------------------------------------------------------------------------------------


ROWS_PER_STATEMENT = 2000


def insert_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple]) -> None:
    """INSERT every row of `rows` (values in the order of `columns`, ready for the database).

    `rows` may be a generator: it is consumed ROWS_PER_STATEMENT rows at a time, so that a 100,000
    row import never holds every row's values at once. Load what the rows need first: they are
    made between the statements of one write."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    _execute_in_chunks(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def update_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple]) -> None:
    """UPDATE by primary key: each row holds the values of `columns`, then the pk."""
    table = connection.ops.quote_name(model._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(model._meta.get_field(c).column)} = %s" for c in columns)
    pk = connection.ops.quote_name(model._meta.pk.column)
    _execute_in_chunks(f"UPDATE {table} SET {sets} WHERE {pk} = %s", rows)  # noqa: S608


def _execute_in_chunks(sql: str, rows: Iterable[tuple]) -> None:
    # Chunks, not the whole generator: Django's SQLite cursor keeps every parameter set that it
    # is handed until the statement ends (it peeks at the first one through itertools.tee).
    rows = iter(rows)
    with connection.cursor() as cursor:
        while chunk := list(islice(rows, ROWS_PER_STATEMENT)):
            cursor.executemany(sql, chunk)


def db_value(model: type[models.Model], name: str, value: Any) -> Any:
    """A value as the database stores it (encrypted fields encrypted, JSON serialized)."""
    return model._meta.get_field(name).get_db_prep_save(value, connection)


def new_row_defaults(model: type[models.Model], columns: list[str]) -> dict[str, Any]:
    """Database values of a new row's fields that the caller does not set (defaults, timestamps)."""
    prototype = model()
    return {name: db_value(model, name, model._meta.get_field(name).pre_save(prototype, add=True)) for name in columns}


# --- payloads ----


class PayloadCache:
    """The specs that jobs of one import share, built once each."""

    def __init__(self) -> None:
        self._tenants: dict[int, dict] = {}
        self._entities: dict[int, dict] = {}
        self._templates: dict[tuple[int, int], dict] = {}

    def tenant_ref(self, tenant: Tenant) -> dict:
        if tenant.id not in self._tenants:
            self._tenants[tenant.id] = specs.to_payload(specs.tenant_ref(tenant))
        return self._tenants[tenant.id]

    def entity(self, entity: Entity) -> dict:
        if entity.id not in self._entities:
            self._entities[entity.id] = specs.to_payload(specs.entity_spec(entity))
        return self._entities[entity.id]

    def template(self, template: LineTemplate, tenant: Tenant) -> dict:
        key = (template.id, tenant.server_id)
        if key not in self._templates:
            platform = tenant.server.platform
            self._templates[key] = specs.to_payload(specs.template_spec(template, platform))
        return self._templates[key]

    def user(self, user: Any, *, numbers: list[str], identity_from: PbxUser | None = None) -> dict:
        """What `specs.to_payload(specs.user_spec(user, numbers=numbers))` gives, without its
        queries; `user.tenant`, `.entity` and `.template` must be set. The backend identity comes
        from `identity_from` (the stored user) when given."""
        return {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "internal_number": user.internal_number,
            "entity": self.entity(user.entity),
            "template": self.template(user.template, user.tenant),
            "email": user.email,
            "display_name": user.shown_name,
            "mobile_number": user.mobile_number,
            "voicemail_enabled": user.voicemail_enabled,
            "voicemail_pin": "",  # never in a payload: read from the row when the job runs
            "forwarding": {
                "always": user.forward_always,
                "busy": user.forward_busy,
                "no_answer": user.forward_no_answer,
                "no_answer_timeout": user.forward_no_answer_timeout,
            },
            "external_numbers": list(numbers),
            "identity": self._identity(identity_from if identity_from is not None else user),
            "pilot_number": "",  # a snapshot only: the job reads the pilot from the row when it runs
        }

    def _identity(self, source: Any) -> dict:
        if not isinstance(source, models.Model):
            return {}  # a row not saved yet has no backend identity
        return specs.identity_of(source)


# --- jobs --------------------------------------------------------------------------------------------


@dataclass
class PlannedJob:
    """One job to write: what `planning._job` takes, with the target given by model and pk."""

    operation: str
    target_model: type[models.Model]
    target_id: int
    target_label: str
    tenant: Tenant
    payload: dict[str, Any]
    dependencies: list[str]
    releases: str = ""


_PER_JOB = ("target_id", "target_key", "target_label", "payload", "releases")


class JobWriter:
    """Writes planned jobs of one batch with one INSERT, then their dependencies with another, and
    hands them to Celery after commit."""

    def __init__(self, *, batch: ProvisioningBatch, actor: Any):
        self.batch = batch
        self.actor = actor
        self.columns = [
            f.name for f in ProvisioningJob._meta.concrete_fields if not f.primary_key and f.name not in ("target",)
        ]
        self._prototypes: dict[tuple[int, str, type], dict[str, Any]] = {}
        self._key_prefixes: dict[type, str] = {}
        # Content types are looked up (and cached) now, not while the jobs are being written.
        ContentType.objects.get_for_models(PbxUser, PhoneNumber, Tenant)

    def _prototype(self, job: PlannedJob) -> dict[str, Any]:
        key = (job.tenant.id, job.operation, job.target_model)
        if key not in self._prototypes:
            placeholder = job.target_model(pk=0)
            template = _job(
                operation=job.operation,
                target=placeholder,
                tenant=job.tenant,
                payload={},
                actor=self.actor,
                batch=self.batch,
            )
            values = {}
            for name in self.columns:
                field = ProvisioningJob._meta.get_field(name)
                values[name] = field.get_db_prep_save(field.pre_save(template, add=True), connection)
            self._prototypes[key] = values
            self._key_prefixes[job.target_model] = target_key(placeholder).removesuffix("0")
        return self._prototypes[key]

    def write(self, jobs: Iterable[PlannedJob]) -> None:
        per_job = [self.columns.index(name) for name in _PER_JOB]
        payload_value = ProvisioningJob._meta.get_field("payload").get_db_prep_save
        last_before = ProvisioningJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        # The dependency keys of each job in the order the jobs are written; jobs with the same keys
        # (every user of one entity) share one tuple.
        dependencies: list[tuple[str, ...]] = []
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}

        def rows() -> Iterator[tuple]:
            for job in jobs:
                values = list(self._prototype(job).values())
                given = tuple(job.dependencies)
                if given not in shared:
                    shared[given] = tuple(sorted(set(given)))
                dependencies.append(shared[given])
                for position, value in zip(
                    per_job,
                    (
                        job.target_id,
                        f"{self._key_prefixes[job.target_model]}{job.target_id}",
                        job.target_label[:300],
                        payload_value(job.payload, connection),
                        job.releases,
                    ),
                    strict=True,
                ):
                    values[position] = value
                yield tuple(values)

        insert_rows(ProvisioningJob, self.columns, rows())
        self._write_dependencies(last_before, dependencies)

    def _write_dependencies(self, last_before: int, dependencies: list[tuple[str, ...]]) -> None:
        if not any(dependencies):
            return
        # The database numbered the jobs in the order they were inserted (an SQLite rowid, a
        # PostgreSQL sequence taken row by row), and the batch is this transaction's own: its jobs
        # above `last_before` are the ones just written, in that order.
        ids = list(
            ProvisioningJob.objects.filter(batch=self.batch, pk__gt=last_before)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        insert_rows(
            JobDependency,
            ["job", "target_key"],
            ((job_id, key) for job_id, keys in zip(ids, dependencies, strict=True) for key in keys),
        )

    def dispatch_after_commit(self) -> None:
        """Send the batch's jobs to Celery once the transaction commits, a few hundred at a time."""
        batch_id = self.batch.pk
        transaction.on_commit(lambda: dispatch_batch(batch_id))


def dispatch_batch(batch_id: int) -> int:
    """Hand a batch's undispatched jobs to Celery; returns how many were sent."""
    jobs = ProvisioningJob.objects.filter(batch_id=batch_id, dispatched_at__isnull=True).order_by("id")
    ids = list(jobs.values_list("id", flat=True))
    sent = 0
    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = ids[start : start + DISPATCH_CHUNK]
        done = dispatch(chunk)
        sent += done
        if done < len(chunk):  # the broker is down: the sweep dispatches the rest later
            break
    return sent


__all__ = [
    "JobWriter",
    "PayloadCache",
    "PlannedJob",
    "db_value",
    "dispatch_batch",
    "insert_rows",
    "new_row_defaults",
    "target_key",
    "update_rows",
]
