"""Matching a tenant's mirror rows with what its PBX holds, set-based and free of I/O: a row is
its PBX object when the driver's canonical key of the row's reference names it. What is left over
is missing on the PBX (or, when an unclaimed object there has the row's natural key, a reference
that points nowhere), or only on the PBX. Two rows naming one object are a duplicate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from telephony.backends.compare import Difference
from telephony.models import FindingKind

VERIFIED = "verified"  # not a finding: the PBX holds the row as the portal does


@dataclass
class Row:
    """A mirror row as the PBX should hold it."""

    kind: str  # "entity" or "user"
    type_id: int
    pk: int
    tenant_id: int
    label: str
    key: str  # the driver's canonical key of the row's reference
    spec: Any
    names: tuple[str, ...] = ()  # natural keys the PBX may know it by (a username, a number, a name)


@dataclass
class Seen:
    """An object the PBX holds, in portal terms."""

    kind: str
    key: str
    state: Any
    label: str
    names: tuple[str, ...] = ()
    identity: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one row or one object: verified, or a finding."""

    kind: str  # VERIFIED or a FindingKind
    object_kind: str
    row: Row | None = None
    seen: Seen | None = None
    differences: list[Difference] = field(default_factory=list)
    tenant_id: int | None = None  # whose it is (None: an object only on a PBX its tenants share)


def compared(row: Row, obj: Seen, differences: Callable[[Row, Seen], list[Difference]]) -> Outcome:
    """The outcome of a row whose object the PBX holds: verified, or what differs."""
    found = differences(row, obj)
    return Outcome(FindingKind.DIFFERS if found else VERIFIED, row.kind, row=row, seen=obj, differences=found)


def leftovers(unmatched: Iterable[Row], free: Iterable[Seen]) -> Iterator[Outcome]:
    """What remains once every object named by a row was compared: rows whose object is gone
    (dangling where an unclaimed object has one of the row's natural keys, else missing), then
    every object no row holds (unmanaged)."""
    left = {(obj.kind, obj.key): obj for obj in free}
    by_name: dict[tuple[str, str], tuple[str, str]] = {}
    for slot, obj in left.items():
        for name in obj.names:
            by_name.setdefault((obj.kind, name), slot)
    for row in unmatched:
        slot = next((by_name[(row.kind, n)] for n in row.names if (row.kind, n) in by_name), None)
        if slot is not None and slot in left:
            yield Outcome(FindingKind.DANGLING, row.kind, row=row, seen=left.pop(slot))
        else:
            yield Outcome(FindingKind.MISSING, row.kind, row=row)
    for obj in left.values():
        yield Outcome(FindingKind.UNMANAGED, obj.kind, seen=obj)


def match(
    rows: Iterable[Row],
    seen: Iterable[Seen],
    differences: Callable[[Row, Seen], list[Difference]],
    *,
    claimed: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> Iterator[Outcome]:
    """Every row's outcome, then every object no row holds, with everything in memory (the scan
    does the same page by page). `claimed`: (kind, key) of objects the portal has taken for a row
    being pushed right now (not unmanaged, though no row names them yet)."""
    by_key: dict[tuple[str, str], Seen] = {}
    for obj in seen:
        by_key.setdefault((obj.kind, obj.key), obj)
    holder: set[tuple[str, str]] = set()
    unmatched: list[Row] = []
    for row in rows:
        slot = (row.kind, row.key)
        if slot in holder:
            yield Outcome(FindingKind.DUPLICATE, row.kind, row=row, seen=by_key.get(slot))
            continue
        holder.add(slot)
        obj = by_key.get(slot)
        if obj is None:
            unmatched.append(row)
        else:
            yield compared(row, obj, differences)
    free = [obj for slot, obj in by_key.items() if slot not in holder and slot not in claimed]
    yield from leftovers(unmatched, free)
