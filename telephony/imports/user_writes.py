"""Writing an import of PBX users: the rows, their audit entries, their jobs and their numbers, each
table with a few bulk statements (see telephony/provisioning/bulk.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from telephony.imports import audit
from telephony.imports.base import CREATE, UPDATE
from telephony.imports.user_context import TenantState
from telephony.imports.user_cti import write_credentials
from telephony.models import Entity, LineTemplate, PbxUser, PhoneNumber, ProvisioningBatch, SyncState
from telephony.provisioning.bulk import (
    JobWriter,
    PayloadCache,
    PlannedJob,
    db_value,
    insert_rows,
    new_row_defaults,
    update_rows,
)
from telephony.provisioning.keys import target_key
from telephony.provisioning.planning import natural_keys, releasing_jobs
from telephony.rules import numbering
from telephony.webhooks import events as webhook_events

# The person and line fields a row sets, in the order UserRow.values holds them.
FIELDS = (
    "username",
    "first_name",
    "last_name",
    "display_name",
    "email",
    "mobile_number",
    "internal_number",
    "voicemail_enabled",
    "voicemail_pin",
    "voicemail_to_email",
    "forward_always",
    "forward_busy",
    "forward_no_answer",
    "forward_no_answer_timeout",
)
_POSITION = {name: i for i, name in enumerate(FIELDS)}
_BOOLEANS = {"voicemail_enabled", "voicemail_to_email"}
_DEFAULTS = {name: PbxUser._meta.get_field(name).get_default() for name in FIELDS}
_NEW_VALUES = tuple(_DEFAULTS[name] for name in FIELDS)


@dataclass(slots=True)
class UserRow:
    """One checked row, kept small: a 100,000-row file holds 100,000 of these until it is written."""

    row: int
    action: str
    state: TenantState
    entity: Entity
    template: LineTemplate
    values: tuple
    existing: PbxUser | None
    ddis: list[str] | None  # None: the file has no ddi column, numbers stay as they are
    cti: Any = None  # a CtiChange: the user's CTI credentials change (see user_cti)
    user_changed: bool = True  # False: only the CTI credentials change


class UserView:
    """The attributes of a user that its job payload reads, without a model instance per row."""

    __slots__ = ("entity", "template", "tenant", *FIELDS)

    def __init__(self, row: UserRow):
        self.tenant, self.entity, self.template = row.state.tenant, row.entity, row.template
        for name, value in zip(FIELDS, row.values, strict=True):
            setattr(self, name, value)

    @property
    def shown_name(self) -> str:
        return self.display_name or f"{self.first_name} {self.last_name}".strip()


class UserWrites:
    """The writing half of `UserImport` (it provides `actor` and `context`)."""

    def write(self, rows: list[UserRow], *, batch: ProvisioningBatch, dispatch: bool) -> None:
        changed = [row for row in rows if row.user_changed]
        ids = self._write_users(changed, batch=batch, dispatch=dispatch) if changed else {}
        write_credentials(rows, ids, actor=self.actor, batch=batch)

    def _write_users(self, rows: list[UserRow], *, batch: ProvisioningBatch, dispatch: bool) -> dict:
        now = timezone.now()
        creates = [row for row in rows if row.action == CREATE]
        updates = [row for row in rows if row.action == UPDATE]
        if updates:  # first: a user moved to another number lets go of its old one for a new user
            self._update_users(updates, now)
        if creates:
            self._insert_users(creates, start=len(updates))
        ids = self._ids()
        entries = self.counted(self._audit(rows, ids), "history")
        audit.AuditWriter(origin=audit.origin_of(batch), actor=self.actor).write(entries, [PbxUser])
        cache = PayloadCache()
        for row in rows:  # what the payloads share, loaded before the jobs are written (see insert_rows)
            cache.tenant_ref(row.state.tenant)
            cache.entity(row.entity)
            cache.template(row.template, row.state.tenant)
        writer = JobWriter(batch=batch, actor=self.actor)
        writer.write(self.counted(self._jobs(rows, ids, cache), "jobs"))
        self._write_numbers(rows, ids)
        writer.write(self._number_jobs(rows, ids, cache))
        if dispatch:
            writer.dispatch_after_commit()
        for action, recorded in ((CREATE, webhook_events.users_created), (UPDATE, webhook_events.users_updated)):
            named = (row for row in rows if row.action == action)
            recorded(ids[(row.state.tenant.id, row.values[_POSITION["username"]])] for row in named)
        return ids

    def _insert_users(self, rows: list[UserRow], *, start: int = 0) -> None:
        set_here = {"tenant", "entity", "template", *FIELDS}
        columns = [f.name for f in PbxUser._meta.concrete_fields if not f.primary_key]
        defaults = new_row_defaults(PbxUser, [c for c in columns if c not in set_here])
        base = [defaults.get(c) for c in columns]
        fields_at = [columns.index(name) for name in FIELDS]
        tenant_at, entity_at, template_at = (columns.index(c) for c in ("tenant", "entity", "template"))
        pin_at = columns.index("voicemail_pin")

        def values() -> Iterator[tuple]:
            for row in rows:
                own = base.copy()
                for position, value in zip(fields_at, row.values, strict=True):
                    own[position] = value
                if own[pin_at]:
                    own[pin_at] = db_value(PbxUser, "voicemail_pin", own[pin_at])
                own[tenant_at], own[entity_at], own[template_at] = row.state.tenant.id, row.entity.id, row.template.id
                yield tuple(own)

        insert_rows(PbxUser, columns, self.counted(values(), "rows", start=start))

    def _update_users(self, rows: list[UserRow], now) -> None:
        columns = ["entity", "template", *FIELDS, "sync_state", "updated_at"]
        stamp = db_value(PbxUser, "updated_at", now)
        pin_at = _POSITION["voicemail_pin"]

        def values() -> Iterator[tuple]:
            for row in rows:
                own = list(row.values)
                own[pin_at] = db_value(PbxUser, "voicemail_pin", own[pin_at]) if own[pin_at] else None
                yield (row.entity.pk, row.template.pk, *own, SyncState.PENDING, stamp, row.existing.pk)

        update_rows(PbxUser, columns, self.counted(values(), "rows"))

    def _audit(self, rows: list[UserRow], ids: dict) -> Iterator[audit.AuditRow]:
        def entries() -> Iterator[audit.AuditRow]:  # streamed: no query in here (see insert_rows)
            for row in rows:
                view = UserView(row)
                before = [getattr(row.existing, name) for name in FIELDS] if row.existing is not None else None
                yield audit.AuditRow(
                    model=PbxUser,
                    object_id=ids[(row.state.tenant.id, view.username)],
                    label=f"{view.first_name} {view.last_name} ({view.internal_number})".strip(),
                    action=audit.CREATE if row.action == CREATE else audit.UPDATE,
                    changes=audit.changes(FIELDS, before, row.values),
                    organization=row.state.tenant.organization_id,
                    entity=row.entity.pk,
                )

        return entries()

    def _ids(self) -> dict[tuple[int, str], int]:
        tenants = list(self.context.states)
        pairs = PbxUser.objects.filter(tenant_id__in=tenants).values_list("tenant_id", "username", "id")
        return {(tenant_id, username): pk for tenant_id, username, pk in pairs}

    def _jobs(self, rows: list[UserRow], ids: dict, cache: PayloadCache) -> Iterator[PlannedJob]:
        """A job per row. Rows that let go of a key (a renumbered user) come first, and a row that
        takes a key waits for whoever lets go of it, in this import or in jobs still unfinished.
        What that needs from the database is read now: the jobs are written while they are made
        (see insert_rows), and no query may run then."""
        per_server = {
            tenant_id: numbering.shares_server_numbering(state.tenant.server_id)
            for tenant_id, state in self.context.states.items()
        }

        def keys(row: UserRow, number: str, username: str) -> set[str]:
            return natural_keys(row.state.tenant, number, username, per_server=per_server[row.state.tenant.id])

        moves = {}  # row index → (keys let go of, keys taken)
        for index, row in enumerate(rows):
            now = keys(row, row.values[_POSITION["internal_number"]], row.values[_POSITION["username"]])
            existing = row.existing
            before = keys(row, existing.internal_number, existing.username) if existing is not None else set()
            moves[index] = (before - now, now - before)
        releasing = releasing_jobs({state.tenant.server_id for state in self.context.states.values()})
        order = sorted(range(len(rows)), key=lambda index: not moves[index][0])

        def jobs() -> Iterator[PlannedJob]:
            for index in order:
                row = rows[index]
                released, taken = moves[index]
                user_id = ids[(row.state.tenant.id, row.values[_POSITION["username"]])]
                for key in released:
                    releasing.setdefault(key, set()).add(f"pbxuser:{user_id}")
                yield self._job(row, user_id, cache, released, releasing, taken)

        return jobs()

    def _job(self, row: UserRow, user_id: int, cache: PayloadCache, released, releasing, taken) -> PlannedJob:
        view = UserView(row)
        state = row.state
        numbers = state.numbers_of_user.get(user_id, []) if row.existing is not None else []
        target = f"pbxuser:{user_id}"
        after = {other for key in taken for other in releasing.get(key, ()) if other != target}
        return PlannedJob(
            operation="user.create" if row.action == CREATE else "user.update",
            target_model=PbxUser,
            target_id=user_id,
            target_label=f"{view.first_name} {view.last_name} ({view.internal_number})".strip(),
            tenant=state.tenant,
            payload={
                "tenant": cache.tenant_ref(state.tenant),
                "user": cache.user(view, numbers=numbers, identity_from=row.existing),
            },
            dependencies=[target_key(state.tenant), target_key(row.entity), *sorted(after)],
            releases=" ".join(sorted(released)),
        )

    def _number_changes(self, rows: list[UserRow], ids: dict) -> Iterator[tuple[UserRow, int, str, bool]]:
        """(row, user id, number, assigned?) for every number a row gives or takes away."""
        for row in rows:
            if row.ddis is None:
                continue
            user_id = ids[(row.state.tenant.pk, row.values[0])]
            current = row.state.numbers_of_user.get(user_id, []) if row.existing is not None else []
            for number in current:
                if number not in row.ddis:
                    yield row, user_id, number, False
            for number in row.ddis:
                if number not in current:
                    yield row, user_id, number, True

    def _write_numbers(self, rows: list[UserRow], ids: dict) -> None:
        pks = self.context.number_pks
        changes = list(self._number_changes(rows, ids))
        if not changes:
            return
        update_rows(
            PhoneNumber,
            ["tenant", "assigned_user", "sync_state"],
            (
                (row.state.tenant.pk, user_id if given else None, SyncState.PENDING, pks[number])
                for row, user_id, number, given in changes
            ),
        )

    def _number_jobs(self, rows: list[UserRow], ids: dict, cache: PayloadCache) -> Iterator[PlannedJob]:
        pks = self.context.number_pks
        for row, user_id, number, given in self._number_changes(rows, ids):
            user_payload = cache.user(UserView(row), numbers=row.ddis, identity_from=row.existing)
            yield PlannedJob(
                operation="number.assign" if given else "number.unassign",
                target_model=PhoneNumber,
                target_id=pks[number],
                target_label=number,
                tenant=row.state.tenant,
                payload={"tenant": cache.tenant_ref(row.state.tenant), "user": user_payload, "number": number},
                dependencies=[f"pbxuser:{user_id}"],
            )
