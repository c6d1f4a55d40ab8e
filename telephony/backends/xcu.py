"""Driver for XiVO Centralized User Management (XCU), REST API `/api/1.0/`.

How portal concepts map onto XCU (which has no tenants of its own):

- server   = a XiVO (`GET /xivo`): identity `xcu_id`, `uuid`, `remainingSlots`.
- tenant   = the portal's tenancy on one XiVO. `TenantRef.server_identity.get("xcu_id")` (or the tenant's
  own `identity.get("xcu_id")`, or the server name/host) says which XiVO. Creating or deleting a tenant
  is bookkeeping: create checks that the XiVO exists, delete does nothing (the tenant's entities,
  templates and users are deleted by their own jobs). Start/stop are unsupported. One portal
  tenant per XiVO is assumed: `fetch_state` reads back everything on that XiVO.
- entity   = XCU entity, addressed by `combinedId` (`<name>@<XiVO uuid>`); natural key: its name
  on the XiVO. Intervals and the presented number are the entity's number plan.
- template = XCU line template; natural key: its name, which is global on an XCU. Upserting it
  adds the tenant's XiVO to its `xivos` (keeping any other XiVO or entity it already serves);
  deleting it removes the tenant's XiVO and entities, and deletes the template only when nothing
  else uses it.
- user     = XCU user; natural key: its internal number on the XiVO. The portal username is sent as
  `ctiLogin` and read back from it; the portal e-mail is `mail`.
- adoption: an entity or template found by name, or a user found by number, is taken over only when
  the ownership accepts it (no other portal row holds it), and a user only inside the entity the
  portal expects; otherwise ConflictError, and nothing is written. Deletes leave such objects alone.
  The canonical keys are XCU's ids (an entity's, a template's, a user's).
- number   = the user's single `externalNumber` (a DDI). Assigning a second number to a user that
  already has another one is refused (documented-only there is none: `externalNumber` is not
  among the document's user fields).
"""

from __future__ import annotations

from collections.abc import Iterator

from telephony.backends.base import (
    KIND_XCU,
    BackendRef,
    Connection,
    Driver,
    EntitySpec,
    HealthInfo,
    NumberState,
    ReadBack,
    ServerInfo,
    TemplateSpec,
    TenantInfo,
    TenantRef,
    TenantSpec,
    backend_ref,
)
from telephony.backends.capabilities import UNIQUE_PER_SERVER, Capabilities, LineFeatures, documented_subset
from telephony.backends.errors import (
    AlreadyExistsError,
    NotFoundError,
)
from telephony.backends.http import ExchangeLog
from telephony.backends.xcu_mapping import (
    PRESENTED_NUMBER_DEFAULT,
    TEMPLATE_WRITABLE,
    Record,
    entity_identity,
    entity_spec,
    template_payload,
    template_spec,
    user_state,
)
from telephony.backends.xcu_session import XcuClient, entity_path
from telephony.backends.xcu_users import XcuUserOperations


class XcuDriver(XcuUserOperations, Driver):
    """Talks to one XCU over its cookie-session REST API (see the module docstring for the mapping)."""

    kind = KIND_XCU
    capabilities = Capabilities(
        label="XiVO XCU",
        # A XiVO keeps internal numbers and entity names unique across everything on it.
        number_scope=UNIQUE_PER_SERVER,
        # XCU keeps line templates, named uniquely across the whole XCU
        keeps_templates=True,
        reports_free_slots=True,  # remainingSlots of each XiVO
        # An XCU user is a name, numbers, e-mail and a line template: voicemail is the template's.
        line_features=LineFeatures(
            display_name=False,
            forward_always=False,
            forward_busy=False,
            forward_no_answer=False,
            voicemail=False,
            voicemail_pin=False,
            external_numbers=1,
        ),
    )
    # `mail` and `externalNumber` are not among the document's user fields (backend-fidelity.md)
    documented_capabilities = documented_subset(capabilities, line={"email": False, "external_numbers": 0})

    def __init__(self, connection: Connection, *, log: ExchangeLog | None = None):
        super().__init__(connection, log=log)
        self.client = XcuClient(connection, self.log)

    def claim_key(self, kind: str, identity: BackendRef, tenant: str = "") -> str:
        # ids are unique on an XCU; a tenant is only the portal's share of a XiVO, no object of its own
        return (
            str(identity.get("xcu_id"))
            if kind in ("server", "entity", "template", "user") and identity.get("xcu_id") is not None
            else ""
        )

    # ------------------------------------------------------------------ health and inventory
    def health(self) -> HealthInfo:
        xivos = self.client.items("xivo")
        names = ", ".join(x["name"] for x in xivos)
        slots = sum(x.get("remainingSlots") or 0 for x in xivos)
        # XCU has no version endpoint: say what the API and its inventory tell
        return HealthInfo(version="XCU REST API 1.0", detail=f"XCU, {len(xivos)} XiVOs ({names}); {slots} free slots")

    def list_servers(self) -> list[ServerInfo]:
        return [
            ServerInfo(
                name=x["name"],
                host=x["host"],
                identity=backend_ref(xcu_id=x["id"], xcu_uuid=x.get("uuid", "")),
                remaining_slots=x.get("remainingSlots"),
            )
            for x in self.client.items("xivo")
        ]

    def list_tenants(self) -> list[TenantInfo]:
        return [self._tenant_info(x["name"], x) for x in self.client.items("xivo")]

    # ------------------------------------------------------------------ tenants (bookkeeping)
    def create_tenant(self, spec: TenantSpec) -> TenantInfo:
        xivo = self._find_xivo(spec.server_identity, spec.server_name, spec.server_host)
        if xivo is None:
            wanted = spec.server_name or spec.server_host or spec.server_identity.get("xcu_id")
            raise NotFoundError(f"tenant {spec.name}: XiVO {wanted} is not on this XCU")
        return self._tenant_info(spec.name, xivo, label=spec.label, licences=spec.licences)

    def get_tenant(self, tenant: TenantRef) -> TenantInfo | None:
        xivo = self._find_xivo_for(tenant)
        return self._tenant_info(tenant.name, xivo) if xivo else None

    def delete_tenant(self, tenant: TenantRef) -> None:
        """Nothing to delete on XCU: a tenant is only the portal's claim on a XiVO."""

    # ------------------------------------------------------------------ entities
    def upsert_entity(self, tenant: TenantRef, spec: EntitySpec) -> BackendRef:
        xivo = self._xivo(tenant)
        payload = {
            "name": spec.name,
            "displayName": spec.display_name or spec.name,
            "xivoId": xivo["id"],
            "intervals": [{"start": i.start, "end": i.end or ""} for i in spec.intervals],
            "presentedNumber": spec.presented_number or PRESENTED_NUMBER_DEFAULT,
        }
        existing = self._find_entity(xivo, spec, tenant)
        if existing is None:
            try:
                return entity_identity(self.client.call("POST", "entities", payload))
            except AlreadyExistsError:
                existing = self._find_entity(xivo, spec, tenant)  # made meanwhile (a retry after a crash)
                if existing is None:
                    raise
        return entity_identity(self.client.call("PUT", entity_path(existing["combinedId"]), payload))

    def delete_entity(self, tenant: TenantRef, spec: EntitySpec) -> None:
        existing = self._find_entity(self._xivo(tenant), spec, tenant, adopting=False)
        if existing is not None:
            self.client.delete_if_present(entity_path(existing["combinedId"]))

    # ------------------------------------------------------------------ templates
    def upsert_template(self, tenant: TenantRef, spec: TemplateSpec) -> BackendRef:
        xivo = self._xivo(tenant)
        existing = self._find_template(spec, tenant)
        payload = template_payload(spec)
        if existing is None:
            payload.update(xivos=[xivo["id"]], entities=[])
            try:
                return backend_ref(xcu_id=self.client.call("POST", "templates", payload)["id"])
            except AlreadyExistsError:
                existing = self._find_template(spec, tenant)
                if existing is None:
                    raise
        # shared by name with other XiVOs or entities: keep them, add ours
        payload.update(xivos=sorted({*existing.get("xivos", []), xivo["id"]}), entities=existing.get("entities", []))
        answer = self.client.call("PUT", f"templates/{existing['id']}", payload)
        return backend_ref(xcu_id=answer["id"])

    def delete_template(self, tenant: TenantRef, spec: TemplateSpec) -> None:
        """Take the tenant's XiVO off the template (deleting it once nothing uses it); without a
        tenant (the portal's template is gone for good), delete the template itself."""
        existing = self._find_template(spec, tenant, adopting=False)
        if existing is None:
            return
        if not (tenant.name or tenant.server_identity or tenant.server_name or tenant.server_host):
            self.client.delete_if_present(f"templates/{existing['id']}")
            return
        xivo = self._xivo(tenant)
        other_xivos = [x for x in existing.get("xivos", []) if x != xivo["id"]]
        other_entities = [c for c in existing.get("entities", []) if not c.endswith("@" + xivo["uuid"])]
        if not other_xivos and not other_entities:
            self.client.delete_if_present(f"templates/{existing['id']}")
            return
        payload = {key: existing[key] for key in TEMPLATE_WRITABLE if key in existing}
        payload.update(xivos=other_xivos, entities=other_entities)
        self.client.call("PUT", f"templates/{existing['id']}", payload)

    # ------------------------------------------------------------------ read-back
    def read_tenant(self, tenant: TenantRef) -> Iterator[ReadBack]:
        xivo = self._xivo(tenant)
        entities = self._entities_on(xivo)
        yield self._tenant_info(tenant.name, xivo)
        yield from (entity_spec(e) for e in entities)
        combined_ids = {e["combinedId"] for e in entities}
        for template in self.client.items("templates"):
            if xivo["id"] in template.get("xivos", []) or combined_ids & set(template.get("entities", [])):
                yield template_spec(template)
        for entity in entities:  # an entity's users come in one list: parsed one by one as it arrives
            for raw in self.client.stream_items(entity_path(entity["combinedId"], "/users")):
                yield user_state(raw)
                if raw.get("externalNumber"):
                    yield NumberState(
                        number=raw["externalNumber"],
                        identity=backend_ref(xcu_id=raw["id"]),
                        assigned_username=raw.get("ctiLogin") or "",
                    )

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ look-ups
    def _find_xivo(self, identity: BackendRef, name: str = "", host: str = "") -> Record | None:
        if identity.get("xcu_id") is not None:
            return self.client.get_or_none(f"xivo/{identity.get('xcu_id')}")
        if not name and not host:
            return None
        return next(
            (x for x in self.client.items("xivo") if (name and x["name"] == name) or (host and x["host"] == host)), None
        )

    def _find_xivo_for(self, tenant: TenantRef) -> Record | None:
        if tenant.server_identity.get("xcu_id") is None and tenant.identity.get("xcu_id") is not None:
            return self._find_xivo(tenant.identity)
        return self._find_xivo(tenant.server_identity, tenant.server_name, tenant.server_host)

    def _xivo(self, tenant: TenantRef) -> Record:
        xivo = self._find_xivo_for(tenant)
        if xivo is None:
            raise NotFoundError(f"the XiVO of tenant {tenant.name} is not on this XCU")
        return xivo

    def _entities_on(self, xivo: Record) -> list[Record]:
        return [e for e in self.client.items("entities") if e["xivo"]["id"] == xivo["id"]]

    def _owned(self, kind: str, found: Record | None, identity: BackendRef, tenant: TenantRef, adopting: bool):
        """An object found by its natural key: taken for the row (or ConflictError) when adopting;
        otherwise returned only if no other row holds it."""
        if found is None:
            return None
        if adopting:
            self.adopt(kind, identity, tenant.name)
            return found
        return found if self.may_remove(kind, identity, tenant.name) else None

    def _find_entity(
        self, xivo: Record, spec: EntitySpec, tenant: TenantRef, *, adopting: bool = True
    ) -> Record | None:
        if spec.identity.get("xcu_combined_id", ""):
            found = self.client.get_or_none(entity_path(spec.identity.get("xcu_combined_id", "")))
            if found is not None and found["xivo"]["id"] == xivo["id"]:
                return found  # by identity first: the portal may be renaming it
        found = next((e for e in self._entities_on(xivo) if e["name"] == spec.name), None)
        return self._owned("entity", found, entity_identity(found) if found else backend_ref(), tenant, adopting)

    def _require_entity(self, xivo: Record, spec: EntitySpec, tenant: TenantRef) -> Record:
        found = self._find_entity(xivo, spec, tenant)
        if found is None:
            raise NotFoundError(f"entity {spec.name} does not exist on XiVO {xivo['name']}")
        return found

    def _find_template(self, spec: TemplateSpec, tenant: TenantRef, *, adopting: bool = True) -> Record | None:
        if spec.identity.get("xcu_id") is not None:
            found = self.client.get_or_none(f"templates/{spec.identity.get('xcu_id')}")
            if found is not None:
                return found
        found = next((t for t in self.client.items("templates") if t["name"] == spec.name), None)
        identity = backend_ref(xcu_id=found["id"]) if found else backend_ref()
        return self._owned("template", found, identity, tenant, adopting)

    def _template_id(self, spec: TemplateSpec, tenant: TenantRef) -> int:
        found = self._find_template(spec, tenant)
        if found is None:
            raise NotFoundError(f"line template {spec.name} does not exist on this XCU")
        return found["id"]

    def _tenant_info(self, name: str, xivo: Record, *, label: str = "", licences: int | None = None) -> TenantInfo:
        return TenantInfo(
            name=name,
            identity=backend_ref(xcu_id=xivo["id"]),
            label=label,
            licences=licences,
            status="started",  # a XiVO under XCU is always in service
            server_name=xivo["name"],
        )
