"""Numbers by the range: add a block of DDIs to a pool in one step, allocate a range or a count of
free numbers to a tenant, release numbers in bulk, and a pool's use at a glance.

A range is written with a few bulk statements however large it is (up to RANGE_LIMIT numbers),
with one audit entry per number as an import writes them (`telephony.imports.audit`), and is
checked whole before anything is written: every number E.164 and of one length, none of them
anywhere in the portal already (the first clash is named), no more than the limit. A number that
moves on or off a user goes through `phone_number_update`, one by one: that is a push to the PBX.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Length
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from telephony.imports import audit
from telephony.models import PhoneNumber, SyncState, Tenant
from telephony.provisioning.bulk import insert_rows, new_row_defaults
from telephony.services.numbers import phone_number_update
from telephony.validators import E164_PATTERN, normalize_e164
from tenants import access
from tenants.access import CHANGE, VIEW
from tenants.models import Organization

RANGE_LIMIT = 10_000  # numbers in one range (a DDI block of 10,000 is the largest operators hand out)
CHUNK = 500  # primary keys per UPDATE statement (far below every database's parameter limit)

# "–", "—", "..", " to " or a hyphen between spaces separate the two ends of a range; a bare hyphen
# only when it is the one hyphen in the text ("+31201234500-4599"), since "+31-20-…" groups digits
_SEPARATORS = re.compile(r"\s*(?:[–—]|\.\.|\bto\b|\s-\s)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class NumberRange:
    """A block of consecutive E.164 numbers of one length, first and last included."""

    first: str
    last: str

    @property
    def size(self) -> int:
        return int(self.last[1:]) - int(self.first[1:]) + 1

    def numbers(self) -> Iterator[str]:
        for value in range(int(self.first[1:]), int(self.last[1:]) + 1):
            yield f"+{value}"

    def __str__(self) -> str:
        return self.first if self.first == self.last else f"{self.first} – {self.last}"

    def within(self) -> Q:
        """The rows of this range (a string comparison holds only among numbers of one length)."""
        return Q(number__gte=self.first, number__lte=self.last, number_length=len(self.first))


def _with_length(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(number_length=Length("number"))


def parse_range(text: str, count: int | None = None, *, field: str = "numbers") -> NumberRange:
    """A range as staff type it: `+31 20 123 4500 – 4599` (the end may give only the last digits),
    `+31201234500 - +31201234599`, `0031201234500..4599`, or one number and `count`. Refused with
    a message under `field` unless every number is E.164, both ends have one length, the end is not
    before the start, and the range holds at most RANGE_LIMIT numbers."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("Enter the first number of the range, e.g. +31 20 123 4500 – 4599.")})
    parts = _SEPARATORS.split(text)
    if len(parts) == 1 and text.count("-") == 1:
        parts = text.split("-")
    if len(parts) > 2:
        raise ValidationError(
            {
                field: _("Write a range as first – last, e.g. +31 20 123 4500 – 4599, not %(text)s.")
                % {"text": repr(text)}
            }
        )
    first = normalize_e164(parts[0])
    if not E164_PATTERN.match(first):
        raise ValidationError(
            {
                field: _("%(number)s is not a number in E.164 form (+ and 2 to 15 digits).")
                % {"number": parts[0].strip()}
            }
        )
    if len(parts) == 2:
        if count is not None:
            raise ValidationError({field: _("Give either a range or a first number and a count, not both.")})
        last = _range_end(first, parts[1], field)
    elif count is not None:
        if count < 1:
            raise ValidationError({"count": _("A count is at least 1.")})
        if count > RANGE_LIMIT:
            raise ValidationError({"count": _too_large(count)})
        last = f"+{int(first[1:]) + count - 1}"
        if len(last) != len(first):
            raise ValidationError(
                {
                    "count": _("%(count)s numbers from %(first)s would run into numbers one digit longer.")
                    % {"count": count, "first": first}
                }
            )
    else:
        last = first
    numbers = NumberRange(first, last)
    if numbers.size > RANGE_LIMIT:
        raise ValidationError({field: _too_large(numbers.size, numbers)})
    return numbers


def _range_end(first: str, raw: str, field: str) -> str:
    text = raw.strip()
    spelled = normalize_e164(text)
    if spelled.startswith("+"):
        last = spelled
    elif spelled.isdigit() and len(spelled) < len(first) - 1:
        last = first[: len(first) - len(spelled)] + spelled  # the end's last digits: 4500 – 4599
    else:
        raise ValidationError(
            {field: _("The end of the range (%(end)s) is neither a number nor its last digits.") % {"end": text}}
        )
    if not E164_PATTERN.match(last):
        raise ValidationError(
            {field: _("%(number)s is not a number in E.164 form (+ and 2 to 15 digits).") % {"number": text}}
        )
    if len(last) != len(first):
        raise ValidationError(
            {
                field: _("Both ends of a range have as many digits: %(first)s and %(last)s do not.")
                % {"first": first, "last": last}
            }
        )
    if last < first:
        raise ValidationError(
            {field: _("The range ends (%(last)s) before it starts (%(first)s).") % {"last": last, "first": first}}
        )
    return last


def _too_large(size: int, numbers: NumberRange | None = None) -> str:
    values = {"limit": f"{RANGE_LIMIT:,}", "size": f"{size:,}", "range": numbers}
    if numbers:
        return (
            _("A range holds at most %(limit)s numbers; this one (%(range)s) has %(size)s. Add it in parts.") % values
        )
    return _("A range holds at most %(limit)s numbers; this one has %(size)s. Add it in parts.") % values


# --- adding a range -----------------------------------------------------------------------------------


@transaction.atomic
def phone_number_range_add(
    *,
    actor: AbstractBaseUser,
    organization: Organization,
    numbers: NumberRange,
    tenant: Tenant | None = None,
    label: str = "",
) -> int:
    """Add every number of `numbers` to `organization`'s pool (allocated to `tenant` when given),
    in bulk. Returns how many were added."""
    access.require_add(actor, PhoneNumber, organization)
    if numbers.size > RANGE_LIMIT:
        raise ValidationError({"numbers": _too_large(numbers.size, numbers)})
    if tenant is not None:
        _require_tenant_of_pool(actor, organization, tenant)
    _refuse_clashes(actor, numbers)
    own = {
        "organization": organization.pk,
        "tenant": tenant.pk if tenant else None,
        "label": label,
        "sync_state": SyncState.IN_SYNC,  # nothing of an unassigned number is on a PBX
    }
    columns = [f.name for f in PhoneNumber._meta.concrete_fields if not f.primary_key]
    defaults = new_row_defaults(PhoneNumber, [c for c in columns if c not in own and c != "number"])
    values = {**defaults, **own}
    rows = (tuple(number if c == "number" else values[c] for c in columns) for number in numbers.numbers())
    try:
        with transaction.atomic():
            insert_rows(PhoneNumber, columns, rows)  # a few executemany statements for the whole range
    except IntegrityError:  # another login added one of them since the check
        _refuse_clashes(actor, numbers)
        raise
    added = _with_length(PhoneNumber.objects.filter(organization=organization)).filter(numbers.within())
    names = ["number", "tenant", "label"]
    after_tenant = tenant.name if tenant else None
    entries = (
        audit.AuditRow(
            model=PhoneNumber,
            object_id=pk,
            label=number,
            action=audit.CREATE,
            changes=audit.changes(names, None, (number, after_tenant, label)),
            organization=organization.pk,
            organization2=tenant.organization_id if tenant else None,
        )
        for pk, number in list(added.values_list("pk", "number"))
    )
    audit.AuditWriter(origin=f"range {numbers}", actor=actor).write(entries, [PhoneNumber])
    return numbers.size


def _refuse_clashes(actor: AbstractBaseUser, numbers: NumberRange) -> None:
    """Refuse a range any of whose numbers is anywhere in the portal, naming the first one (where
    it is only when the login may see it: numbers outside its scope are just "not available")."""
    clashes = _with_length(PhoneNumber.objects.all()).filter(numbers.within()).order_by("number")
    first = clashes.select_related("organization", "tenant").first()
    if first is None:
        return
    more = clashes.count() - 1
    values = {"number": first.number, "organization": first.organization, "tenant": first.tenant, "more": f"{more:,}"}
    if not access.can(actor, VIEW, first):
        message = (
            _("%(number)s is not available (and %(more)s more of this range). Nothing was added.")
            if more
            else _("%(number)s is not available. Nothing was added.")
        )
    elif first.tenant_id:
        message = (
            _(
                "%(number)s is in the pool of %(organization)s, allocated to %(tenant)s "
                "(and %(more)s more of this range). Nothing was added."
            )
            if more
            else _("%(number)s is in the pool of %(organization)s, allocated to %(tenant)s. Nothing was added.")
        )
    else:
        message = (
            _("%(number)s is in the pool of %(organization)s (and %(more)s more of this range). Nothing was added.")
            if more
            else _("%(number)s is in the pool of %(organization)s. Nothing was added.")
        )
    raise ValidationError({"numbers": message % values})


def _require_tenant_of_pool(actor: AbstractBaseUser, organization: Organization, tenant: Tenant) -> None:
    if not access.can(actor, VIEW, tenant):
        raise ValidationError({"tenant": _("Choose one of your tenants.")})
    if not tenant.organization.is_within(organization):
        raise ValidationError(
            {
                "tenant": _("%(tenant)s is not a tenant of %(organization)s or of an organization below it.")
                % {"tenant": tenant, "organization": organization}
            }
        )


# --- allocating -----------------------------------------------------------------------------------------


@transaction.atomic
def phone_numbers_allocate(
    *,
    actor: AbstractBaseUser,
    organization: Organization,
    tenant: Tenant,
    numbers: NumberRange | None = None,
    count: int | None = None,
) -> list[str]:
    """Allocate free numbers of `organization`'s pool to `tenant`: every number of the range
    `numbers` (all of them must be in the pool and free, or already the tenant's), or the `count`
    lowest free ones (inside `numbers`, when both are given). Returns the numbers allocated."""
    access.require_add(actor, PhoneNumber, organization)  # the pool's managers allocate
    _require_tenant_of_pool(actor, organization, tenant)
    if numbers is None and not count:
        raise ValidationError({"numbers": _("Give a range of numbers or how many to allocate.")})
    if count is not None and not 1 <= count <= RANGE_LIMIT:
        raise ValidationError(
            {"count": _("Allocate between 1 and %(limit)s numbers at a time.") % {"limit": f"{RANGE_LIMIT:,}"}}
        )
    pool = PhoneNumber.objects.select_for_update().filter(organization=organization)
    if numbers is not None:
        pool = _with_length(pool).filter(numbers.within())
    if count:
        free = list(pool.filter(tenant__isnull=True).order_by("number").values_list("pk", "number")[:count])
        if len(free) < count:
            values = {"organization": organization, "free": f"{len(free):,}", "range": numbers, "count": f"{count:,}"}
            if numbers is not None:
                message = ngettext(
                    "%(organization)s's pool has %(free)s free number in %(range)s, not %(count)s.",
                    "%(organization)s's pool has %(free)s free numbers in %(range)s, not %(count)s.",
                    len(free),
                )
            else:
                message = ngettext(
                    "%(organization)s's pool has %(free)s free number, not %(count)s.",
                    "%(organization)s's pool has %(free)s free numbers, not %(count)s.",
                    len(free),
                )
            raise ValidationError({"count": message % values})
    else:
        held = dict(pool.values_list("number", "tenant_id"))
        for number in numbers.numbers():
            if number not in held:
                raise ValidationError(
                    {
                        "numbers": _("%(number)s is not in %(organization)s's pool. Nothing was allocated.")
                        % {"number": number, "organization": organization}
                    }
                )
            if held[number] not in (None, tenant.pk):
                other = Tenant.objects.get(pk=held[number])
                raise ValidationError(
                    {
                        "numbers": _(
                            "%(number)s is allocated to %(tenant)s already; release it first. Nothing was allocated."
                        )
                        % {"number": number, "tenant": other}
                    }
                )
        free = list(pool.filter(tenant__isnull=True).order_by("number").values_list("pk", "number"))
    pks = [pk for pk, _ in free]
    for start in range(0, len(pks), CHUNK):
        PhoneNumber.objects.filter(pk__in=pks[start : start + CHUNK]).update(tenant=tenant)
    entries = (
        audit.AuditRow(
            model=PhoneNumber,
            object_id=pk,
            label=number,
            action=audit.UPDATE,
            changes={"tenant": ["None", tenant.name]},
            organization=organization.pk,
            organization2=tenant.organization_id,
        )
        for pk, number in free
    )
    audit.AuditWriter(origin=f"allocation to {tenant}", actor=actor).write(entries, [PhoneNumber])
    return [number for _, number in free]


# --- releasing ------------------------------------------------------------------------------------------


@dataclass
class Released:
    """What a bulk release did: numbers taken off users (each a push) and numbers back in their pool."""

    from_users: int = 0
    to_pool: int = 0


@transaction.atomic
def phone_numbers_release(
    *, actor: AbstractBaseUser, numbers: Iterable[PhoneNumber], to_pool: bool = False
) -> Released:
    """Release numbers in bulk: take each one off its user (back to its tenant's free numbers) and,
    with `to_pool`, off its tenant too (back to its pool, no longer the tenant's pilot). Refused as
    a whole, naming the first number the login may not release that way."""
    pks = [number.pk for number in numbers]
    rows = list(
        PhoneNumber.objects.select_for_update(of=("self",))  # the joined rows may be null: not locked
        .filter(pk__in=pks)
        .select_related("organization", "tenant", "assigned_user")
        .order_by("number")
    )
    for row in rows:
        if not access.can(actor, CHANGE, row):
            raise ValidationError(_("You may not release %(number)s. Nothing was released.") % {"number": row.number})
        if to_pool and row.tenant_id and not access.can_add(actor, PhoneNumber, row.organization):
            raise ValidationError(
                _("Only the managers of %(organization)s's pool may return %(number)s to it. Nothing was released.")
                % {"organization": row.organization, "number": row.number}
            )
    done = Released()
    quiet = []  # no user and no pilot flag: nothing of them is on a PBX, written in bulk
    for row in rows:
        if row.assigned_user_id or (to_pool and row.is_pilot):
            done.from_users += bool(row.assigned_user_id)
            row.assigned_user = None
            if to_pool:
                done.to_pool += bool(row.tenant_id)
                row.tenant, row.is_pilot = None, False
            phone_number_update(actor=actor, number=row)
        elif to_pool and row.tenant_id:
            quiet.append(row)
    if quiet:
        ids = [row.pk for row in quiet]
        for start in range(0, len(ids), CHUNK):
            PhoneNumber.objects.filter(pk__in=ids[start : start + CHUNK]).update(tenant=None)
        entries = (
            audit.AuditRow(
                model=PhoneNumber,
                object_id=row.pk,
                label=row.number,
                action=audit.UPDATE,
                changes={"tenant": [row.tenant.name, "None"]},
                organization=row.organization_id,
                organization2=row.tenant.organization_id,
            )
            for row in quiet
        )
        audit.AuditWriter(origin="bulk release", actor=actor).write(entries, [PhoneNumber])
        done.to_pool += len(quiet)
    return done


# --- a pool's use ---------------------------------------------------------------------------------------


@dataclass
class PoolUse:
    organization_id: int
    organization: str
    free: int
    allocated: int  # allocated to a tenant, on no user
    assigned: int

    @property
    def total(self) -> int:
        return self.free + self.allocated + self.assigned


def pool_usage(actor: AbstractBaseUser, numbers: QuerySet | None = None) -> list[PoolUse]:
    """Free / allocated / assigned numbers of every pool the login sees (of `numbers`, the
    numbers list's current selection, when given): one query."""
    visible = numbers if numbers is not None else access.restrict(PhoneNumber.objects.all(), actor, VIEW)
    return _uses(_counts(visible))


def first_pools_usage(numbers: QuerySet, *, limit: int, including: int | None = None) -> tuple[list[PoolUse], bool]:
    """The use of the first `limit` pools by name that hold `numbers` (a login's scoped numbers),
    and of pool `including` when it holds some, and whether more pools hold them. One read of the
    numbers, grouped by pool, of which the database keeps the first `limit` + 1 by name: finding
    first which pools hold any number read them all as well, and the counts then read the first
    pools' numbers again (7.7 of a reseller's 42 ms at 10,000 numbers on PostgreSQL). A chosen
    pool beyond them is a second, small query."""
    uses = _uses(_counts(numbers)[: limit + 1])
    listed = uses[:limit]
    if including is not None and all(use.organization_id != including for use in listed):
        listed += _uses(_counts(numbers.filter(organization_id=including)))
    return listed, len(uses) > limit


def _counts(numbers: QuerySet) -> QuerySet:
    """Each pool's free, allocated and assigned numbers among `numbers`, in the pools' order."""
    return (
        numbers.order_by()
        .values("organization_id", "organization__name")
        .annotate(
            free=Count("pk", filter=Q(tenant__isnull=True)),
            allocated=Count("pk", filter=Q(tenant__isnull=False, assigned_user__isnull=True)),
            assigned=Count("pk", filter=Q(assigned_user__isnull=False)),
        )
        .order_by("organization__name", "organization_id")
    )


def _uses(counts: QuerySet) -> list[PoolUse]:
    return [
        PoolUse(row["organization_id"], row["organization__name"], row["free"], row["allocated"], row["assigned"])
        for row in counts
    ]
