"""Importing customer organizations with their tenants below a reseller, with the rules of
`organization_create` and `tenant_create` / `tenant_update`: a customer sits below a reseller, a
tenant on a server shared with the actor that has room, its name unique on the server."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony.imports import audit
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
    resolve_action,
)
from telephony.imports.columns import ORGANIZATION_COLUMNS
from telephony.models import ProvisioningBatch, Server, Tenant
from telephony.provisioning import specs
from telephony.provisioning.bulk import JobWriter, PlannedJob, db_value, insert_rows, new_row_defaults, update_rows
from tenants import access
from tenants.access import VIEW, subtree
from tenants.models import Organization, OrganizationKind


@dataclass(slots=True)
class OrganizationRow:
    row: int
    action: str
    parent: Organization
    organization_name: str
    organization: Organization | None  # None: created by this import
    tenant_name: str
    server: Server | None
    label: str
    licences: int
    existing: Tenant | None


class OrganizationImport(Importer):
    """Customers (and their tenants) below one reseller (the organization chosen on the form)."""

    columns = ORGANIZATION_COLUMNS

    def __init__(self, *, actor: Any, mode: str, parent: Organization):
        self.actor = actor
        self.mode = mode
        self.parent = parent
        self.name_check = FieldCheck(Organization, "name", column="organization")
        self.tenant_check = FieldCheck(Tenant, "name", column="tenant")
        self.label_check = FieldCheck(Tenant, "label")
        self.licences_check = FieldCheck(Tenant, "licences")

    def prepare(self, csv_file: Any, *, commit: bool) -> None:
        found = self.referenced(csv_file, "server", "reseller", "organization")
        parent = Organization.objects.filter(pk=self.parent.pk)
        if commit:
            parent = parent.select_for_update()
        self.parent = parent.get()
        inside = access.restrict(Organization.objects.filter(subtree("path", self.parent.path)), self.actor, VIEW)
        self.resellers: dict[str, list[Organization]] = defaultdict(list)
        self.resellers[self.parent.name].append(self.parent)
        for reseller in inside.filter(name__in=found["reseller"]).exclude(kind=OrganizationKind.CUSTOMER):
            if reseller.pk != self.parent.pk:
                self.resellers[reseller.name].append(reseller)
        self.customers: dict[tuple[str, str], list[Organization]] = defaultdict(list)
        for child in inside.filter(name__in=found["organization"], depth__gt=self.parent.depth):
            self.customers[(child.path[: -Organization.steplen], child.name)].append(child)
        customer_ids = [o.pk for os in self.customers.values() for o in os]
        self.tenants = {
            (t.organization_id, t.name): t
            for t in Tenant.objects.filter(organization_id__in=customer_ids)
            .select_related("server__platform")
            .annotate(user_count=Count("users"))
        }
        found = self.referenced(csv_file, "server")
        servers = access.restrict(Server.objects.filter(name__in=found["server"]), self.actor, VIEW)
        if commit:
            servers = servers.select_for_update()
        self.servers: dict[str, list[Server]] = defaultdict(list)
        for server in servers.select_related("platform"):
            self.servers[server.name].append(server)
        server_ids = [s.pk for ss in self.servers.values() for s in ss]
        self.taken = set(Tenant.objects.filter(server_id__in=server_ids).values_list("server_id", "name"))
        counts = Tenant.objects.filter(server_id__in=server_ids).values("server_id").annotate(n=Count("id"))
        self.tenant_counts = {row["server_id"]: row["n"] for row in counts.order_by()}
        self.adding: Counter = Counter()
        self.seen: dict[tuple[str, str], int] = {}

    def check(self, number: int, cells: Cells) -> OrganizationRow:
        parent = self._parent(cells.get("reseller"))
        name = self.name_check(cells.get("organization"))
        if not name.strip():
            raise RowInvalid("organization", _("is required."))
        organization = self._organization(parent, name)
        tenant_name = self.tenant_check(cells.get("tenant")) if cells.get("tenant") else ""
        existing = self.tenants.get((organization.pk, tenant_name)) if organization and tenant_name else None
        exists = existing is not None if tenant_name else organization is not None
        action = resolve_action(cells, self.mode, exists)
        if tenant_name:
            earlier = self.seen.setdefault((parent.pk, name, tenant_name), number)
            if earlier != number:
                raise RowInvalid(
                    "tenant",
                    _("%(tenant)s of %(organization)s is also on row %(row)s.")
                    % {"tenant": tenant_name, "organization": name, "row": earlier},
                )
        if action == SKIP:
            return OrganizationRow(number, SKIP, parent, name, organization, tenant_name, None, "", 0, existing)
        if organization is None and not access.can_add(self.actor, Organization, parent):
            raise RowInvalid(
                "organization",
                _("%(name)s not found, and you may not add customers below %(parent)s.")
                % {"name": repr(name), "parent": parent},
            )
        if organization is not None and organization.kind != OrganizationKind.CUSTOMER:
            raise RowInvalid(
                "organization",
                _("%(name)s is a %(kind)s; tenants belong to customers.")
                % {"name": name, "kind": organization.get_kind_display().lower()},
            )
        if tenant_name and not access.can_add(self.actor, Tenant, organization or parent):
            raise RowInvalid("tenant", _("you may not add tenants to %(name)s.") % {"name": name})
        server = self._server(cells, existing) if tenant_name else None
        label = self.label_check(cells.get("label")) if cells.has("label") else (existing.label if existing else "")
        licences = self.licences_check(cells.get("licences")) if cells.has("licences") else None
        if licences is None:
            licences = existing.licences if existing else Tenant._meta.get_field("licences").get_default()
        row = OrganizationRow(
            number, action, parent, name, organization, tenant_name, server, label, licences, existing
        )
        if existing is not None:
            self._check_update(row)
        elif tenant_name:
            self._check_new_tenant(row)
        if action == UPDATE and (not tenant_name or self._unchanged(row)):
            row.action = SKIP
        return row

    def _parent(self, name: str) -> Organization:
        if not name:
            return self.parent
        found = self.resellers.get(name, [])
        if not found:
            raise RowInvalid(
                "reseller", _("%(name)s not found below %(parent)s.") % {"name": repr(name), "parent": self.parent}
            )
        if len(found) > 1:
            raise RowInvalid(
                "reseller",
                _("several organizations below %(parent)s are called %(name)s.")
                % {"parent": self.parent, "name": repr(name)},
            )
        return found[0]

    def _organization(self, parent: Organization, name: str) -> Organization | None:
        found = self.customers.get((parent.path, name), [])
        if len(found) > 1:
            raise RowInvalid(
                "organization",
                _("several organizations below %(parent)s are called %(name)s.")
                % {"parent": parent, "name": repr(name)},
            )
        return found[0] if found else None

    def _server(self, cells: Cells, existing: Tenant | None) -> Server:
        name = cells.get("server")
        if not name:
            if existing is not None:
                return existing.server
            raise RowInvalid("server", _("is required for a new tenant."))
        found = self.servers.get(name, [])
        if not found:
            raise RowInvalid("server", _("%(name)s not found.") % {"name": repr(name)})
        if len(found) > 1:
            raise RowInvalid("server", _("several servers shared with you are called %(name)s.") % {"name": repr(name)})
        return found[0]

    def _check_new_tenant(self, row: OrganizationRow) -> None:
        if (row.server.pk, row.tenant_name) in self.taken:
            raise RowInvalid(
                "tenant",
                _("the name %(name)s is not available on server %(server)s.")
                % {"name": row.tenant_name, "server": row.server},
            )
        self.taken.add((row.server.pk, row.tenant_name))
        candidate = Tenant(name=row.tenant_name, label=row.label, licences=row.licences, server=row.server)
        candidate.organization = row.organization or Organization(name=row.organization_name, kind="customer")
        self._clean(candidate)
        self.adding[row.server.pk] += 1

    def _check_update(self, row: OrganizationRow) -> None:
        tenant = row.existing
        if row.server.pk != tenant.server_id:
            raise RowInvalid(
                "server",
                _("%(tenant)s is on %(server)s; a tenant cannot move to another server here.")
                % {"tenant": tenant, "server": tenant.server},
            )
        if row.licences < tenant.user_count:
            raise RowInvalid(
                "licences",
                _("%(tenant)s already has %(count)s users; it needs at least that many.")
                % {"tenant": tenant, "count": tenant.user_count},
            )
        if not access.can(self.actor, "change", tenant):
            raise RowInvalid("tenant", _("%(name)s not found.") % {"name": tenant.name})
        candidate = Tenant(name=tenant.name, label=row.label, licences=row.licences, server=tenant.server)
        candidate.organization = row.organization
        self._clean(candidate)

    def _clean(self, tenant: Tenant) -> None:
        try:
            tenant.clean()
        except ValidationError as error:
            raise RowInvalid(*first_error(error)) from None

    def _unchanged(self, row: OrganizationRow) -> bool:
        return (row.existing.label, row.existing.licences) == (row.label, row.licences)

    def finish(self, outcome: Outcome) -> None:
        for server_id, count in self.adding.items():
            server = next(s for ss in self.servers.values() for s in ss if s.pk == server_id)
            holding = self.tenant_counts.get(server_id, 0)
            if server.capacity_tenants is not None and holding + count > server.capacity_tenants:
                outcome.add_error(
                    0,
                    "server",
                    _("%(server)s is full: it holds %(holding)s of %(capacity)s tenants; the file adds %(count)s.")
                    % {"server": server, "holding": holding, "capacity": server.capacity_tenants, "count": count},
                )

    def shown(self, row: OrganizationRow) -> dict[str, Any]:
        return {
            "reseller": row.parent.name,
            "organization": row.organization_name,
            "new organization": row.organization is None,
            "tenant": row.tenant_name,
            "server": row.server.name if row.server else "",
            "label": row.label,
            "licences": row.licences if row.tenant_name else "",
        }

    # --- writing ------------------------------------------------------------------------------

    def write(self, rows: list[OrganizationRow], *, batch: ProvisioningBatch, dispatch: bool) -> None:
        created_before = {(r.parent.pk, r.organization_name) for r in rows if r.organization is None}
        organizations = self._write_organizations(rows)
        creates = [r for r in rows if r.action == CREATE and r.tenant_name]
        updates = [r for r in rows if r.action == UPDATE and r.existing is not None]
        if creates:
            set_here = ["organization", "server", "name", "label", "licences"]
            columns = [f.name for f in Tenant._meta.concrete_fields if not f.primary_key]
            defaults = new_row_defaults(Tenant, [c for c in columns if c not in set_here])
            insert_rows(
                Tenant,
                columns,
                (
                    tuple(
                        {
                            "organization": organizations[(r.parent.pk, r.organization_name)].pk,
                            "server": r.server.pk,
                            "name": r.tenant_name,
                            "label": r.label,
                            "licences": r.licences,
                        }.get(c, defaults.get(c))
                        for c in columns
                    )
                    for r in creates
                ),
            )
            self._plan_tenants(creates, organizations, batch, dispatch)
        if updates:
            stamp = db_value(Tenant, "updated_at", timezone.now())
            update_rows(
                Tenant,
                ["label", "licences", "updated_at"],
                ((r.label, r.licences, stamp, r.existing.pk) for r in updates),
            )
        self._audit(rows, organizations, created_before, batch)

    def _audit(self, rows, organizations, created, batch: ProvisioningBatch) -> None:
        """Audit entries for the organizations and tenants this import created or changed."""
        entries = [
            audit.AuditRow(
                model=Organization,
                object_id=organization.pk,
                label=organization.name,
                action=audit.CREATE,
                changes=audit.changes(["name", "kind"], None, [organization.name, organization.kind]),
                organization=organization.pk,
            )
            for key, organization in organizations.items()
            if key in created
        ]
        keys = {(organizations[(r.parent.pk, r.organization_name)].pk, r.tenant_name): r for r in rows if r.tenant_name}
        saved = {
            (t.organization_id, t.name): t
            for t in Tenant.objects.filter(organization_id__in={k[0] for k in keys}, name__in={k[1] for k in keys})
        }
        names = ["name", "label", "licences"]
        for key, row in keys.items():
            tenant = saved.get(key)
            if tenant is None or row.action not in (CREATE, UPDATE):
                continue
            before = [row.existing.name, row.existing.label, row.existing.licences] if row.existing else None
            entries.append(
                audit.AuditRow(
                    model=Tenant,
                    object_id=tenant.pk,
                    label=tenant.name,
                    action=audit.CREATE if row.existing is None else audit.UPDATE,
                    changes=audit.changes(names, before, [row.tenant_name, row.label, row.licences]),
                    organization=key[0],
                )
            )
        audit.AuditWriter(origin=audit.origin_of(batch), actor=self.actor).write(entries, [Organization, Tenant])

    def _write_organizations(self, rows: list[OrganizationRow]) -> dict[tuple[int, str], Organization]:
        """New customers get the next paths below their reseller, as treebeard's add_child would."""
        known = {(r.parent.pk, r.organization_name): r.organization for r in rows if r.organization is not None}
        new: dict[int, list[str]] = defaultdict(list)
        parents = {}
        for r in rows:
            if r.organization is None and r.organization_name not in new[r.parent.pk]:
                new[r.parent.pk].append(r.organization_name)
                parents[r.parent.pk] = r.parent
        created_at = db_value(Organization, "created_at", timezone.now())
        for parent_id, names in new.items():
            # Locked as treebeard's add_child locks it: a customer added meanwhile in the admin
            # must not get the same path.
            parent = Organization.objects.select_for_update().get(pk=parents[parent_id].pk)
            children = Organization.objects.filter(path__startswith=parent.path, depth=parent.depth + 1)
            last = children.order_by("-path").values_list("path", flat=True).first()
            position = Organization._str2int(last[-Organization.steplen :]) if last else 0
            depth = parent.depth + 1
            paths = [Organization._get_path(parent.path, depth, position + i) for i in range(1, len(names) + 1)]
            insert_rows(
                Organization,
                ["path", "depth", "numchild", "name", "kind", "created_at"],
                (
                    (path, depth, 0, name, OrganizationKind.CUSTOMER, created_at)
                    for path, name in zip(paths, names, strict=True)
                ),
            )
            Organization.objects.filter(pk=parent_id).update(numchild=F("numchild") + len(names))
            for organization in Organization.objects.filter(path__in=paths):
                known[(parent_id, organization.name)] = organization
        return known

    def _plan_tenants(self, rows, organizations, batch, dispatch) -> None:
        keys = {(organizations[(r.parent.pk, r.organization_name)].pk, r.tenant_name): r for r in rows}
        saved = Tenant.objects.filter(organization_id__in={k[0] for k in keys}, name__in={k[1] for k in keys})
        writer = JobWriter(batch=batch, actor=self.actor)
        jobs = []
        for tenant in saved:
            row = keys.get((tenant.organization_id, tenant.name))
            if row is None or row.server.pk != tenant.server_id:
                continue
            tenant.server = row.server
            jobs.append(
                PlannedJob(
                    operation="tenant.create",
                    target_model=Tenant,
                    target_id=tenant.pk,
                    target_label=str(tenant),
                    tenant=tenant,
                    payload={"tenant": specs.to_payload(specs.tenant_spec(tenant))},
                    dependencies=[],
                )
            )
        writer.write(jobs)
        if dispatch:
            writer.dispatch_after_commit()
