"""Matching one read of the PBX with the mirror while the read streams in, page by page, so that
a tenant of any size costs the scan about one page of objects and one small index entry per row.

Before the read, the comparable rows are indexed by the driver's canonical key of their reference
(rows naming one object twice are duplicates). Each page of objects the PBX sends is matched
against that index; only the page's rows are loaded (with their specs) and compared. What remains
at the end, rows never seen and objects no row names, is settled as the in-memory `match` would."""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType

from telephony.backends.base import Driver, EntitySpec, ReadBack, UserState
from telephony.backends.compare import Difference
from telephony.backends.errors import NotFoundError
from telephony.backends.prefetch import read_ahead
from telephony.drift.matching import Outcome, Row, Seen, compared, leftovers
from telephony.models import (
    BackendClaim,
    Entity,
    FindingKind,
    LineTemplate,
    PbxUser,
    PhoneNumber,
    Server,
    SyncState,
    Tenant,
)
from telephony.models.sync import SEEN_STATES
from telephony.provisioning import specs

# Rows a read of the PBX may conclude on: pushed, or seen before. Pending and failed are the jobs'.
COMPARABLE = frozenset({SyncState.IN_SYNC, *SEEN_STATES})
PAGE = 500  # objects matched (and rows loaded) at a time
# what a comparison never reads of a user (a secret to decrypt, dates to convert): left in the table
UNREAD_USER_FIELDS = ("voicemail_pin", "created_at", "updated_at", "verified_at", "sync_message")
READ_AHEAD = 2  # pages read from the PBX before the one being matched is done


def pages(items: Iterable[Any], size: int) -> Iterator[tuple[Any, ...]]:
    iterator = iter(items)
    while page := tuple(itertools.islice(iterator, size)):
        yield page


@dataclass
class GroupRead:
    """One read of a container of the PBX (a tenant, or a server its tenants share)."""

    driver: Driver
    server: Server
    tenants: list[Tenant]
    shared: bool  # the tenants share one container: an object only there is no one tenant's
    index: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, key) → row pk
    twins: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # more rows naming one object
    entity_rows: dict[int, Row] = field(default_factory=dict)

    @functools.cached_property
    def names(self) -> dict[int, str]:
        return {tenant.pk: tenant.name for tenant in self.tenants}

    def outcomes(self) -> Iterator[Outcome]:
        """Every row's and every unclaimed object's outcome; NotFoundError (unless shared: then the
        caller's) turns into the tenant and everything in it missing."""
        first = self.tenants[0]
        first.server = self.server
        self._build_index()
        items = self.driver.read_tenant(specs.tenant_ref(first))
        try:
            next(items)  # the tenant itself: its absence is known before anything else is read
        except NotFoundError:
            if self.shared:
                raise  # the server itself is gone: nothing to conclude about its tenants
            yield from self._tenant_gone(first)
            return
        free: list[Seen] = []
        for page in read_ahead(pages(self._seen(items), PAGE), depth=READ_AHEAD):
            yield from self._match_page(page, free)
        yield from self._settle(free)

    # before the read
    def _build_index(self) -> None:
        for entity in self._entities().values():
            self._enter(("entity", entity.key), entity.pk)
            self.entity_rows[entity.pk] = entity
        users = PbxUser.objects.filter(tenant__in=self.tenants, sync_state__in=COMPARABLE)
        for pk, ref, tenant_id in users.values_list("pk", "backend_ref", "tenant_id").iterator(chunk_size=5000):
            key = self.driver.claim_key("user", ref, self.names[tenant_id])
            if key:  # a user that is no object of its own on this PBX is the portal's alone
                self._enter(("user", key), pk)

    def _enter(self, slot: tuple[str, str], pk: int) -> None:
        if slot in self.index:
            self.twins.setdefault(slot, []).append(pk)
        else:
            self.index[slot] = pk

    # during the read
    def _seen(self, items: Iterable[ReadBack]) -> Iterator[Seen]:
        tenant_name = self.tenants[0].name
        for item in items:
            if isinstance(item, EntitySpec):
                key = self.driver.claim_key("entity", item.identity, tenant_name)
                if key:
                    label = item.display_name or item.name
                    yield Seen("entity", key, item, label, (item.name.lower(),), item.identity)
            elif isinstance(item, UserState):
                key = self.driver.claim_key("user", item.identity, tenant_name)
                if key:
                    label = " ".join(p for p in (item.first_name, item.last_name) if p) or item.username
                    names = tuple(n for n in (item.username.lower(), item.internal_number) if n)
                    yield Seen("user", key, item, f"{label} ({item.internal_number})", names, item.identity)

    def _match_page(self, page: tuple[Seen, ...], free: list[Seen]) -> Iterator[Outcome]:
        hits = []
        for obj in page:
            slot = (obj.kind, obj.key)
            pk = self.index.pop(slot, None)
            if pk is None:
                free.append(obj)
            else:
                hits.append((obj, pk))
        users = self._user_rows([pk for obj, pk in hits if obj.kind == "user"])
        for obj, pk in hits:
            row = users[pk] if obj.kind == "user" else self.entity_rows[pk]
            yield compared(row, obj, self._differences)
            for twin in self._twin_rows(obj.kind, obj.key):
                yield Outcome(FindingKind.DUPLICATE, twin.kind, row=twin, seen=obj)

    def _differences(self, row: Row, obj: Seen) -> list[Difference]:
        if row.kind == "user":
            return self.driver.user_differences(row.spec, obj.state)
        return self.driver.entity_differences(row.spec, obj.state)

    # after the read
    def _settle(self, free: list[Seen]) -> Iterator[Outcome]:
        for slot in list(self.twins):
            yield from (Outcome(FindingKind.DUPLICATE, r.kind, row=r) for r in self._twin_rows(*slot))
        claimed = self._claimed(free)
        unclaimed = [obj for obj in free if (obj.kind, obj.key) not in claimed]
        gone_users = [pk for (kind, _), pk in self.index.items() if kind == "user"]
        gone = [self.entity_rows[pk] for (kind, _), pk in self.index.items() if kind == "entity"]
        for start in range(0, len(gone_users), PAGE):
            gone += self._user_rows(gone_users[start : start + PAGE]).values()
        yield from leftovers(gone, unclaimed)

    def _claimed(self, objects: list[Seen]) -> set[tuple[str, str]]:
        """Objects the portal has taken for a row being pushed right now: not unmanaged, though no
        compared row names them yet."""
        claimed: set[tuple[str, str]] = set()
        by_kind: dict[str, list[str]] = defaultdict(list)
        for obj in objects:
            by_kind[obj.kind].append(obj.key)
        for kind, keys in by_kind.items():
            for start in range(0, len(keys), PAGE):
                found = BackendClaim.objects.filter(
                    platform=self.server.platform, kind=kind, key__in=keys[start : start + PAGE]
                ).values_list("key", flat=True)
                claimed.update((kind, key) for key in found)
        return claimed

    def _twin_rows(self, kind: str, key: str) -> list[Row]:
        pks = self.twins.pop((kind, key), [])
        if kind == "entity":
            return [self.entity_rows[pk] for pk in pks]
        return list(self._user_rows(pks).values())

    def _tenant_gone(self, tenant: Tenant) -> Iterator[Outcome]:
        """The PBX does not hold the tenant: it is missing there, and so is everything in it."""
        tenant_type = ContentType.objects.get_for_model(Tenant).pk
        row = Row("tenant", tenant_type, tenant.pk, tenant.pk, str(tenant), "", None)
        yield Outcome(FindingKind.MISSING, "tenant", row=row)
        rows = list(self.entity_rows.values())
        pks = [pk for (kind, _), pk in self.index.items() if kind == "user"]
        pks += [pk for (kind, _), twins in self.twins.items() if kind == "user" for pk in twins]
        for start in range(0, len(pks), PAGE):
            rows += self._user_rows(pks[start : start + PAGE]).values()
        yield from (Outcome(FindingKind.MISSING, r.kind, row=r) for r in rows)

    # rows
    def _entities(self) -> dict[int, Row]:
        entity_type = ContentType.objects.get_for_model(Entity).pk
        entities = Entity.objects.filter(tenant__in=self.tenants, sync_state__in=COMPARABLE).prefetch_related(
            "intervals"
        )
        rows = {}
        for entity in entities:
            key = self.driver.claim_key("entity", entity.backend_ref, self.names[entity.tenant_id])
            if key:  # an entity that is no object of its own on this PBX is the portal's alone
                spec = specs.entity_spec(entity)
                names = (entity.name.lower(),)
                rows[entity.pk] = Row("entity", entity_type, entity.pk, entity.tenant_id, entity.name, key, spec, names)
        return rows

    @functools.cached_property
    def _entity_spec(self) -> Callable[[int], EntitySpec]:
        return functools.cache(lambda pk: specs.entity_spec(Entity.objects.prefetch_related("intervals").get(pk=pk)))

    @functools.cached_property
    def _template_spec(self) -> Callable[[int], Any]:
        return functools.cache(lambda pk: specs.template_spec(LineTemplate.objects.get(pk=pk), self.server.platform))

    def _user_rows(self, pks: list[int]) -> dict[int, Row]:
        """The users `pks` as rows with their specs (one page at a time: two queries)."""
        if not pks:
            return {}
        user_type = ContentType.objects.get_for_model(PbxUser).pk
        numbers: dict[int, list[str]] = defaultdict(list)
        pilots: dict[int, str] = {}
        held = PhoneNumber.objects.filter(assigned_user_id__in=pks).values_list(
            "assigned_user_id", "number", "is_pilot"
        )
        for user_id, number, is_pilot in held:
            numbers[user_id].append(number)
            if is_pilot:
                pilots[user_id] = number
        rows = {}
        for user in PbxUser.objects.filter(pk__in=pks).defer(*UNREAD_USER_FIELDS):
            key = self.driver.claim_key("user", user.backend_ref, self.names[user.tenant_id])
            spec = specs.user_spec(
                user,
                numbers=numbers.get(user.pk, []),
                pilot=pilots.get(user.pk, ""),
                entity=self._entity_spec(user.entity_id),
                template=self._template_spec(user.template_id),
            )
            label = f"{user.full_name} ({user.internal_number})"
            names = (user.username.lower(), user.internal_number)
            rows[user.pk] = Row("user", user_type, user.pk, user.tenant_id, label, key, spec, names)
        return rows
