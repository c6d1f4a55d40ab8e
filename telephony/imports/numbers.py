"""Importing phone numbers into an organization's pool, optionally allocated to tenants and
assigned to users, with the rules of `phone_number_create` / `phone_number_update`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from telephony.imports import audit, phones
from telephony.imports.base import (
    CREATE,
    SKIP,
    UPDATE,
    Cells,
    FieldCheck,
    Importer,
    Outcome,
    RowInvalid,
    first_error,
    parse_bool,
    resolve_action,
)
from telephony.imports.columns import NUMBER_COLUMNS
from telephony.models import PbxUser, PhoneNumber, ProvisioningBatch, SyncState, Tenant
from telephony.provisioning import planning
from telephony.provisioning.bulk import (
    JobWriter,
    PayloadCache,
    PlannedJob,
    insert_rows,
    new_row_defaults,
    update_rows,
)
from telephony.provisioning.keys import target_key
from tenants import access
from tenants.access import CHANGE, VIEW
from tenants.models import Organization

CHUNK = 20_000


@dataclass(slots=True)
class NumberRow:
    row: int
    action: str
    number: str
    tenant: Tenant | None
    user: PbxUser | None
    is_pilot: bool
    label: str
    existing: PhoneNumber | None


class NumberImport(Importer):
    """Numbers into one pool (the organization chosen on the form)."""

    columns = NUMBER_COLUMNS
    kind = "numbers"

    def __init__(self, *, actor: Any, mode: str, organization: Organization):
        self.actor = actor
        self.mode = mode
        self.pool = organization
        self.number_check = FieldCheck(PhoneNumber, "number")
        self.label_check = FieldCheck(PhoneNumber, "label")

    def prepare(self, csv_file: Any, *, commit: bool) -> None:
        found = self.referenced(csv_file, "number", "tenant", "assigned_user")
        self._region: str | None = None
        cleaned = {phones.clean(n) for n in found["number"]}
        if any(phones.is_national(n) for n in cleaned):
            paths = [*self.pool.ancestor_paths(), self.pool.path]
            pool_numbers = PhoneNumber.objects.filter(organization__path__in=paths)
            self._region = phones.region_of(pool_numbers.values_list("number", flat=True)[:500])
        numbers = sorted({phones.to_e164(n, self._region) for n in cleaned})
        existing = PhoneNumber.objects.select_related("organization", "tenant", "assigned_user")
        if commit:
            existing = existing.select_for_update(of=("self",))
        self.existing: dict[str, PhoneNumber] = {}
        for start in range(0, len(numbers), CHUNK):
            self.existing.update((n.number, n) for n in existing.filter(number__in=numbers[start : start + CHUNK]))
        changeable = set()
        for start in range(0, len(numbers), CHUNK):
            scoped = PhoneNumber.objects.filter(number__in=numbers[start : start + CHUNK])
            changeable.update(access.restrict(scoped, self.actor, CHANGE).values_list("pk", flat=True))
        self.changeable = changeable
        tenants = access.restrict(Tenant.objects.filter(name__in=found["tenant"]), self.actor, VIEW)
        self.tenants: dict[str, list[Tenant]] = defaultdict(list)
        for tenant in tenants.select_related("organization", "server__platform"):
            self.tenants[tenant.name].append(tenant)
        tenant_ids = [t.pk for ts in self.tenants.values() for t in ts]
        users = access.restrict(
            PbxUser.objects.filter(tenant_id__in=tenant_ids, username__in=found["assigned_user"]), self.actor, CHANGE
        )
        self.users = {(u.tenant_id, u.username): u for u in users}
        pilots = PhoneNumber.objects.filter(tenant_id__in=tenant_ids, is_pilot=True)
        self.pilots = dict(pilots.values_list("tenant_id", "number"))
        self.seen: dict[str, int] = {}
        self.seen_pilots: dict[int, int] = {}
        self.may_allocate = access.can_add(self.actor, PhoneNumber, self.pool)

    def check(self, number: int, cells: Cells) -> NumberRow:
        raw = cells.get("number")
        value = phones.to_e164(raw, self._region) if raw else ""
        if phones.is_national(value):
            raise RowInvalid("number", phones.national_hint(raw, _("the pool of %(pool)s") % {"pool": self.pool}))
        value = self.number_check(value)
        earlier = self.seen.setdefault(value, number)
        if earlier != number:
            raise RowInvalid("number", _("%(value)s is also on row %(row)s.") % {"value": value, "row": earlier})
        existing = self.existing.get(value)
        if existing is not None and existing.pk not in self.changeable:
            if self.mode == "update" or cells.get("action").lower() == "update":
                raise RowInvalid("number", _("%(number)s not found.") % {"number": value})
            raise RowInvalid(
                "number", _("%(number)s is not available.") % {"number": value}
            )  # never confirm what is outside the scope
        if existing is not None and existing.organization_id != self.pool.pk:
            raise RowInvalid(
                "number",
                _("%(number)s is in the pool of %(organization)s; a number stays in its pool.")
                % {"number": value, "organization": existing.organization},
            )
        action = resolve_action(cells, self.mode, existing is not None)
        if action == SKIP:
            return NumberRow(number, SKIP, value, None, None, False, "", existing)
        tenant = self._tenant(cells, existing)
        user = self._user(cells, tenant, existing)
        is_pilot = (
            parse_bool("is_pilot", cells.get("is_pilot"))
            if cells.has("is_pilot")
            else bool(existing and existing.is_pilot)
        )
        label = self.label_check(cells.get("label")) if cells.has("label") else (existing.label if existing else "")
        if existing is not None and existing.tenant_id != (tenant.pk if tenant else None) and not self.may_allocate:
            raise RowInvalid("tenant", _("only the pool's managers may allocate or release this number."))
        if existing is None and tenant is not None and not self.may_allocate:
            raise RowInvalid("tenant", _("only the pool's managers may allocate numbers."))
        candidate = PhoneNumber(
            number=value, organization=self.pool, tenant=tenant, assigned_user=user, is_pilot=is_pilot, label=label
        )
        try:
            candidate.clean()
        except ValidationError as error:
            raise RowInvalid(*first_error(error)) from None
        if is_pilot:
            if tenant is None:
                raise RowInvalid("is_pilot", _("only a number allocated to a tenant can be its pilot."))
            holder = self.pilots.get(tenant.pk)
            if holder is not None and holder != value:
                raise RowInvalid(
                    "is_pilot",
                    _("%(tenant)s already has a pilot number (%(number)s).") % {"tenant": tenant, "number": holder},
                )
            first = self.seen_pilots.setdefault(tenant.pk, number)
            if first != number:
                raise RowInvalid(
                    "is_pilot",
                    _("row %(row)s already makes a pilot number for %(tenant)s.") % {"row": first, "tenant": tenant},
                )
        row = NumberRow(number, action, value, tenant, user, is_pilot, label, existing)
        if action == UPDATE and self._unchanged(row):
            row.action = SKIP
        return row

    def _tenant(self, cells: Cells, existing: PhoneNumber | None) -> Tenant | None:
        if not cells.has("tenant"):
            return existing.tenant if existing else None
        name = cells.get("tenant")
        if not name:
            return None
        candidates = self.tenants.get(name, [])
        if not candidates:
            raise RowInvalid("tenant", _("%(name)s not found.") % {"name": repr(name)})
        inside = [t for t in candidates if t.organization.is_within(self.pool)]
        if len(inside) != 1:
            if not inside:
                raise RowInvalid(
                    "tenant", _("%(name)s is not a tenant of %(pool)s or below it.") % {"name": name, "pool": self.pool}
                )
            raise RowInvalid("tenant", _("several of your tenants are called %(name)s.") % {"name": repr(name)})
        return inside[0]

    def _user(self, cells: Cells, tenant: Tenant | None, existing: PhoneNumber | None) -> PbxUser | None:
        if not cells.has("assigned_user"):
            if existing is not None and existing.assigned_user_id and tenant and tenant.pk == existing.tenant_id:
                return existing.assigned_user
            return None
        name = cells.get("assigned_user").lower()
        if not name:
            return None
        if tenant is None:
            raise RowInvalid("assigned_user", _("allocate the number to the user's tenant (tenant column) first."))
        user = self.users.get((tenant.pk, name))
        if user is None:
            raise RowInvalid(
                "assigned_user", _("%(name)s not found in tenant %(tenant)s.") % {"name": repr(name), "tenant": tenant}
            )
        return user

    def _unchanged(self, row: NumberRow) -> bool:
        old = row.existing
        return (old.tenant_id, old.assigned_user_id, old.is_pilot, old.label) == (
            row.tenant.pk if row.tenant else None,
            row.user.pk if row.user else None,
            row.is_pilot,
            row.label,
        )

    def shown(self, row: NumberRow) -> dict[str, Any]:
        return {
            "number": row.number,
            "pool": self.pool.name,
            "tenant": row.tenant.name if row.tenant else "",
            "assigned_user": row.user.username if row.user else "",
            "is_pilot": row.is_pilot,
            "label": row.label,
        }

    def finish(self, outcome: Outcome) -> None:
        """Nothing file-wide: a pool has no size limit."""

    # --- writing ------------------------------------------------------------------------------

    def write(self, rows: list[NumberRow], *, batch: ProvisioningBatch, dispatch: bool) -> None:
        creates = [r for r in rows if r.action == CREATE]
        updates = [r for r in rows if r.action == UPDATE]
        moves = [r for r in rows if (r.user.pk if r.user else None) != _previous_user_id(r)]
        moving = {id(r) for r in moves}
        if creates:
            set_here = ["number", "organization", "tenant", "assigned_user", "is_pilot", "label", "sync_state"]
            columns = [f.name for f in PhoneNumber._meta.concrete_fields if not f.primary_key]
            defaults = new_row_defaults(PhoneNumber, [c for c in columns if c not in set_here])

            def new_rows():
                for r in creates:
                    own = {
                        "number": r.number,
                        "organization": self.pool.pk,
                        "tenant": r.tenant.pk if r.tenant else None,
                        "assigned_user": r.user.pk if r.user else None,
                        "is_pilot": r.is_pilot,
                        "label": r.label,
                        "sync_state": SyncState.PENDING if r.user else SyncState.IN_SYNC,
                    }
                    yield tuple(own[c] if c in own else defaults[c] for c in columns)

            insert_rows(PhoneNumber, columns, new_rows())
        if updates:
            update_rows(
                PhoneNumber,
                ["tenant", "assigned_user", "is_pilot", "label", "sync_state"],
                (
                    (
                        r.tenant.pk if r.tenant else None,
                        r.user.pk if r.user else None,
                        r.is_pilot,
                        r.label,
                        SyncState.PENDING if id(r) in moving else r.existing.sync_state,
                        r.existing.pk,
                    )
                    for r in updates
                ),
            )
        self._audit(creates + updates, batch)
        if moves:
            writer = JobWriter(batch=batch, actor=self.actor)
            writer.write(self._jobs(moves))
            if dispatch:
                writer.dispatch_after_commit()
        self._pilot_pushes(creates + updates, batch)

    def _pilot_pushes(self, rows: list[NumberRow], batch: ProvisioningBatch) -> None:
        """Where the platform keeps the pilot flag (XC5), a pilot set or unset, or a number that stops
        being one, is planned as a single change plans it (`planning.number_pilot_changed`), after
        the rows' own number jobs: a tenant has one pilot, so these are a few rows of any file."""
        touched = [r for r in rows if r.is_pilot or (r.existing is not None and r.existing.is_pilot)]
        if not touched:
            return
        saved = {n.number: n for n in PhoneNumber.objects.filter(number__in=[r.number for r in touched])}
        for r in touched:
            planning.number_pilot_changed(saved[r.number], before=r.existing, actor=self.actor, batch=batch)

    def _audit(self, rows: list[NumberRow], batch: ProvisioningBatch) -> None:
        if not rows:
            return
        names = ["number", "tenant", "assigned_user", "is_pilot", "label"]
        ids = dict(PhoneNumber.objects.filter(number__in=[r.number for r in rows]).values_list("number", "pk"))
        tenant_ids = {r.existing.tenant_id for r in rows if r.existing} | {r.tenant.pk for r in rows if r.tenant}
        tenants = {
            pk: (name, path)
            for pk, name, path in Tenant.objects.filter(pk__in=tenant_ids).values_list("pk", "name", "organization_id")
        }
        user_ids = {r.existing.assigned_user_id for r in rows if r.existing} | {r.user.pk for r in rows if r.user}
        users = {user.pk: str(user) for user in PbxUser.objects.filter(pk__in=user_ids)}

        def entries():  # streamed: no query in here (see insert_rows)
            for r in rows:
                after = (
                    r.number,
                    r.tenant.name if r.tenant else None,
                    users.get(r.user.pk) if r.user else None,
                    r.is_pilot,
                    r.label,
                )
                before = None
                if r.existing is not None:
                    old = r.existing
                    before = (
                        old.number,
                        tenants.get(old.tenant_id, (None, ""))[0],
                        users.get(old.assigned_user_id),
                        old.is_pilot,
                        old.label,
                    )
                yield audit.AuditRow(
                    model=PhoneNumber,
                    object_id=ids[r.number],
                    label=r.number,
                    action=audit.CREATE if r.existing is None else audit.UPDATE,
                    changes=audit.changes(names, before, after),
                    organization=self.pool.pk,
                    organization2=tenants[r.tenant.pk][1] if r.tenant else None,
                )

        audit.AuditWriter(origin=audit.origin_of(batch), actor=self.actor).write(entries(), [PhoneNumber])

    def _jobs(self, moves: list[NumberRow]):
        """Take each number off its previous user and put it on its new one, in that order. Every
        query runs before the jobs are written (see insert_rows)."""
        ids = dict(PhoneNumber.objects.filter(number__in=[r.number for r in moves]).values_list("number", "pk"))
        users = {r.user.pk for r in moves if r.user} | {_previous_user_id(r) for r in moves if _previous_user_id(r)}
        loaded = {
            u.pk: u
            for u in PbxUser.objects.filter(pk__in=users)
            .select_related("entity", "template__organization", "tenant__server__platform")
            .prefetch_related("entity__intervals")
        }
        holding = defaultdict(list)
        for number, user_id in PhoneNumber.objects.filter(assigned_user_id__in=users).values_list(
            "number", "assigned_user_id"
        ):
            holding[user_id].append(number)
        cache = PayloadCache()
        for user in loaded.values():
            cache.user(user, numbers=[])
        return self._planned(moves, ids, loaded, holding, cache)

    def _planned(self, moves, ids, loaded, holding, cache):
        for r in moves:
            previous = _previous_user_id(r)
            for user_id, operation in ((previous, "number.unassign"), (r.user.pk if r.user else None, "number.assign")):
                if user_id is None:
                    continue
                user = loaded[user_id]
                yield PlannedJob(
                    operation=operation,
                    target_model=PhoneNumber,
                    target_id=ids[r.number],
                    target_label=r.number,
                    tenant=user.tenant,
                    payload={
                        "tenant": cache.tenant_ref(user.tenant),
                        "user": cache.user(user, numbers=sorted(holding[user_id])),
                        "number": r.number,
                    },
                    dependencies=[target_key(user)],
                )


def _previous_user_id(row: NumberRow) -> int | None:
    return row.existing.assigned_user_id if row.existing is not None else None
