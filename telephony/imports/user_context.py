"""Everything a users import checks rows against, loaded with a constant number of queries: per
tenant named in the file, its entities with their number plans, its users, the line templates it
may use; the numbers the file names; the users already on each server."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _

from telephony.imports import phones
from telephony.imports.base import RowInvalid
from telephony.line_features import TenantLine
from telephony.models import Entity, LineTemplate, PbxUser, PhoneNumber, Tenant
from telephony.rules import numbering
from telephony.validators import interval_contains
from tenants import access
from tenants.access import CHANGE, VIEW

NUMBER_QUERY_CHUNK = 20_000


@dataclass
class TenantState:
    """One tenant as the import sees it, and what the file has claimed in it so far."""

    tenant: Tenant
    may_manage: bool  # False: only the entities granted to the actor
    entities: dict[str, Entity]
    users_by_username: dict[str, PbxUser]
    users_by_number: dict[str, PbxUser]
    templates: dict[str, LineTemplate]  # usable by the tenant and visible to the actor, nearest owner first
    template_ids: set[int]
    line: TenantLine  # what the tenant's platform keeps per user
    numbers_of_user: dict[int, list[str]] = field(default_factory=dict)
    seen_numbers: dict[str, int] = field(default_factory=dict)
    seen_usernames: dict[str, int] = field(default_factory=dict)
    # internal numbers other customers hold on a server whose PBX keeps them unique across tenants
    numbers_elsewhere: set[str] = field(default_factory=set)
    # templates whose name another template already holds on the tenant's platform (XCU)
    templates_unusable: set[int] = field(default_factory=set)
    creating: int = 0
    _plan: list | None = None

    def entity_for_number(self, number: str) -> Entity | None:
        """Intervals never overlap inside a tenant: at most one entity's plan holds the number."""
        if self._plan is None:
            self._plan = [(i.start, i.end, e) for e in self.entities.values() for i in e.intervals.all()]
        for start, end, entity in self._plan:
            if interval_contains(start, end, number):
                return entity
        return None

    def plans(self, entities: list[Entity] | None = None) -> str:
        shown = self.entities.values() if entities is None else entities
        return "; ".join(f"{e.name}: {e.number_plan or _('none')}" for e in shown) or _("no entities")


class UserContext:
    """Tenants, templates and numbers for one import, scoped to the actor."""

    def __init__(
        self,
        *,
        actor: Any,
        default_tenant: Tenant | None,
        tenant_names: set[str],
        numbers: set[str],
        lock: bool,
        within: Any = None,
    ):
        self.actor = actor
        self.tenants_by_name: dict[str, list[Tenant]] = defaultdict(list)
        self.elsewhere: dict[str, Tenant] = {}  # named tenants the actor sees but this import may not write to
        visible = access.restrict(Tenant.objects.all(), actor, VIEW).select_related("organization", "server__platform")
        tenants = visible
        if default_tenant is not None:
            # An import belongs to the organization of the tenant chosen for it (whose staff see
            # its preview and errors): other organizations' tenants are not found from it.
            tenants = tenants.filter(organization_id=default_tenant.organization_id)
        elif within is not None:
            # No tenant chosen (an unfiltered export coming back): every tenant the rows name, in
            # the organization the import belongs to or below it.
            tenants = tenants.filter(access.subtree("organization__path", within.path))
        if lock:
            tenants = tenants.select_for_update()
        wanted = set(tenant_names)
        query = tenants.filter(name__in=wanted) if wanted else tenants.none()
        if default_tenant is not None:
            query = query | tenants.filter(pk=default_tenant.pk)
        loaded = [
            tenant
            for tenant in query.order_by("pk")
            if (default_tenant is not None and tenant.pk == default_tenant.pk) or self._may_write(tenant)
        ]
        for tenant in loaded:
            self.tenants_by_name[tenant.name].append(tenant)
        missing = wanted - set(self.tenants_by_name)
        if missing:  # seen but not this import's to write: said so plainly (never for unseen ones)
            for tenant in visible.filter(name__in=missing).order_by("pk"):
                self.elsewhere.setdefault(tenant.name, tenant)
        self.default = next((t for t in loaded if default_tenant and t.pk == default_tenant.pk), None)
        self.states: dict[int, TenantState] = {}
        self._granted = None
        self._load(loaded)
        self.numbers = self._load_numbers(numbers)
        self.number_pks = {n.number: n.pk for n in self.numbers.values()}
        self.seen_numbers: dict[str, int] = {}
        self._regions: dict[int, str | None] = {}
        self.default_given = default_tenant is not None

    # --- loading --------------------------------------------------------------------------------

    def _load(self, tenants: list[Tenant]) -> None:
        ids = [t.pk for t in tenants]
        entities = defaultdict(dict)
        for entity in Entity.objects.filter(tenant_id__in=ids).prefetch_related("intervals").order_by("name"):
            entities[entity.tenant_id][entity.name] = entity
        users = defaultdict(list)
        for user in PbxUser.objects.filter(tenant_id__in=ids):
            users[user.tenant_id].append(user)
        paths = {p for t in tenants for p in (*t.organization.ancestor_paths(), t.organization.path)}
        in_reach = LineTemplate.objects.filter(organization__path__in=paths).select_related("organization")
        template_by_id = {t.pk: t for t in in_reach}  # what existing users hold, visible or not
        visible = set(access.restrict(in_reach, self.actor, VIEW).values_list("pk", flat=True))
        templates = sorted(
            (t for t in template_by_id.values() if t.pk in visible), key=lambda t: (-t.organization.depth, t.name)
        )
        for tenant in tenants:
            tenant_entities = entities[tenant.pk]
            for entity in tenant_entities.values():
                entity.tenant = tenant
            by_id = {e.pk: e for e in tenant_entities.values()}
            usable: dict[str, LineTemplate] = {}
            for template in templates:
                if template.is_usable_by(tenant.organization):
                    usable.setdefault(template.name, template)
            tenant_users = users[tenant.pk]
            for user in tenant_users:
                user.tenant = tenant
                user.entity = by_id[user.entity_id]
                if user.template_id in template_by_id:
                    user.template = template_by_id[user.template_id]
            self.states[tenant.pk] = TenantState(
                tenant=tenant,
                may_manage=access.can_add(self.actor, PbxUser, tenant.organization),
                entities=tenant_entities,
                users_by_username={u.username: u for u in tenant_users},
                users_by_number={u.internal_number: u for u in tenant_users},
                templates=usable,
                template_ids={t.pk for t in usable.values()},
                line=TenantLine.of_platform(tenant.server.platform),
                numbers_elsewhere=numbering.all_numbers_taken_elsewhere(tenant),
                templates_unusable=numbering.templates_unusable_on(tenant.server.platform, usable.values()),
            )

    def _load_numbers(self, numbers: set[str]) -> dict[str, PhoneNumber]:
        found: dict[str, PhoneNumber] = {}
        wanted = sorted(numbers)
        scoped = access.restrict(PhoneNumber.objects.all(), self.actor, CHANGE).select_related("organization")
        for start in range(0, len(wanted), NUMBER_QUERY_CHUNK):
            for number in scoped.filter(number__in=wanted[start : start + NUMBER_QUERY_CHUNK]):
                found[number.number] = number
        return found

    def _may_write(self, tenant: Tenant) -> bool:
        """May the actor add users to the tenant (staff of its organization, or an administrator
        of one of its entities, whose rows are then checked against their own entities)?"""
        if access.can_add(self.actor, PbxUser, tenant.organization):
            return True
        return Entity.objects.filter(tenant=tenant, administrators__pk=self.actor.pk).exists()

    def load_more_numbers(self, numbers: set[str]) -> None:
        """Numbers found only once the tenants' countries were known (national ones in the file)."""
        more = self._load_numbers(numbers - set(self.numbers))
        self.numbers.update(more)
        self.number_pks.update((n.number, n.pk) for n in more.values())

    def region_for(self, state: TenantState) -> str | None:
        """The country a national number of this tenant is read in: where most of the tenant's
        numbers are, else most numbers of the pools above it; None when it has none yet."""
        tenant = state.tenant
        if tenant.pk not in self._regions:
            own = list(PhoneNumber.objects.filter(tenant=tenant).values_list("number", flat=True)[:500])
            if not own:
                paths = [*tenant.organization.ancestor_paths(), tenant.organization.path]
                pools = PhoneNumber.objects.filter(organization__path__in=paths)
                own = list(pools.values_list("number", flat=True)[:500])
            self._regions[tenant.pk] = phones.region_of(own)
        return self._regions[tenant.pk]

    def load_current_numbers(self) -> None:
        """Which numbers each existing user holds (for imports that change them)."""
        assigned = PhoneNumber.objects.filter(assigned_user__tenant_id__in=list(self.states)).order_by("number")
        for pk, number, user_id, tenant_id in assigned.values_list("pk", "number", "assigned_user_id", "tenant_id"):
            self.states[tenant_id].numbers_of_user.setdefault(user_id, []).append(number)
            self.number_pks[number] = pk

    def server_user_counts(self) -> dict[int, int]:
        servers = {state.tenant.server_id for state in self.states.values()}
        counts = (
            PbxUser.objects.filter(tenant__server_id__in=servers).values("tenant__server_id").annotate(n=Count("id"))
        )
        return {row["tenant__server_id"]: row["n"] for row in counts.order_by()}

    # --- lookups --------------------------------------------------------------------------------

    def state_for(self, name: str) -> TenantState:
        if not name:
            if self.default is None:
                raise RowInvalid(
                    "tenant",
                    _("is empty and no tenant was chosen on the form: write the tenant's name here, or choose one."),
                )
            return self.states[self.default.pk]
        candidates = self.tenants_by_name.get(name, [])
        if not candidates:
            other = self.elsewhere.get(name)
            if other is not None and self.default_given:
                raise RowInvalid(
                    "tenant",
                    _(
                        "%(name)s belongs to another customer than the tenant chosen on the form; import its rows "
                        "separately (or leave the form's tenant empty). Nothing of this row is written."
                    )
                    % {"name": repr(name)},
                )
            if other is not None:
                raise RowInvalid(
                    "tenant",
                    _("%(name)s is not a tenant you may add users to; nothing of this row is written.")
                    % {"name": repr(name)},
                )
            raise RowInvalid(
                "tenant",
                _("%(name)s not found among your tenants; check the spelling (tenant names are lower case).")
                % {"name": repr(name)},
            )
        if len(candidates) > 1:
            if self.default is not None and self.default in candidates:
                return self.states[self.default.pk]
            raise RowInvalid(
                "tenant",
                _("several of your tenants are called %(name)s; import them one tenant at a time.")
                % {"name": repr(name)},
            )
        return self.states[candidates[0].pk]

    def may_use_entity(self, state: TenantState, entity: Entity) -> bool:
        if state.may_manage:
            return True
        if self._granted is None:
            self._granted = set(self.actor.administered_entities.values_list("pk", flat=True))
        return entity.pk in self._granted

    def may_change_user(self, state: TenantState, user: PbxUser) -> bool:
        return self.may_use_entity(state, user.entity)

    def may_allocate(self, number: PhoneNumber) -> bool:
        return access.can_add(self.actor, PhoneNumber, number.organization)
