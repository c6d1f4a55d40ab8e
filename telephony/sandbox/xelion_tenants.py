"""The tenants of one sandbox Xelion server: the master tenant's API for them, and the calls the
Park Manager simulator makes on the server it manages.

Documented (backend-api-facts.md): `POST /api/v1/master/tenants/<databaseId>/start` answers
400/10062 when the tenant is already started, 400/10063 when called on another tenant than master,
400/10074 when the tenant could not start, 404/10060 on a server without a multi-tenant set-up.

The sandbox's stand-in for the rest of the master API (not in the documents; a Xelion partner does
this through the Park Manager or Xelion's own tooling), all under `/api/v1/master/`:

    GET  tenants                        list (paging, where=name=<name>)
    POST tenants                        {"name", "label"?, "licenses"?} -> a new, stopped tenant
    GET  tenants/<databaseId>           one tenant
    POST tenants/<databaseId>/stop      stop it (stopping a stopped tenant is accepted)

A tenant is `{"name", "databaseId", "status": STARTED|STOPPED|PARKED, "label", "licenses", ...}`
as a Xelion object (`objectType` "Tenant"). "Could not start" (10074) happens when the server
already runs its capacity of started tenants, or for a parked tenant (it has no name yet).

Each named tenant has a built-in administrator `admin` with the password `<tenant name>-admin`
(it is not a UserProfile, so it never shows under `users`), and a SIP trunk `<tenant>_SipTrunk`,
as a partner's tenant template would give it. The park refills itself: when the Park Manager asks
for a parked tenant and none is left, a fresh one is made while the server has room
(`capacity_tenants`, 100 by default, counts every tenant but master).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import json_response
from telephony.sandbox.xelion_objects import TenantObjects, TypeIndex
from telephony.sandbox.xelion_render import listing, one
from telephony.sandbox.xelion_schema import PERMISSIONS, XelionError, invalid, not_found

MASTER = "master"
TENANT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$")
STARTED, STOPPED, PARKED = "STARTED", "STOPPED", "PARKED"
DEFAULT_LICENCES = 10
SEED_PARKED_TENANTS = 3


def tenant_admin_password(name: str) -> str:
    """The documented sandbox password of a tenant's built-in `admin`."""
    return f"{name}-admin"


class TenantRegistry:
    """Mixin of the Xelion server simulator: its tenants, by name and by databaseId."""

    capacity_tenants: int
    multi_tenant: bool
    server_version: str
    state: dict[str, Any]
    type_indexes: dict[str, TypeIndex]  # by tenant oid, kept across requests (see `objects_of`)

    # records
    def tenants(self) -> list[dict[str, Any]]:
        return list(self.state["tenants"].values())

    def tenant_by_name(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.tenants() if t["name"] == name), None)

    def tenant_by_database_id(self, database_id: int) -> dict[str, Any] | None:
        return self.state["tenants"].get(str(database_id))

    def objects_of(self, tenant: dict[str, Any]) -> TenantObjects:
        """A view of the tenant's objects, with its index by type kept from the last request (built
        again when the tenant's objects are not the ones it indexed: after a reset or a load)."""
        objects = TenantObjects(tenant, self.new_oid, self.type_indexes.get(tenant["oid"]))
        self.type_indexes[tenant["oid"]] = objects.index
        return objects

    def new_oid(self) -> str:
        return str(self.next_id("oid", start=2730000))  # type: ignore[attr-defined]

    def _new_tenant(
        self, name: str, status: str, *, label: str = "", licenses: int = DEFAULT_LICENCES
    ) -> dict[str, Any]:
        database_id = 0 if name == MASTER else self.next_id("databaseId", start=1)  # type: ignore[attr-defined]
        tenant = {
            "name": name,
            "databaseId": database_id,
            "status": status,
            "label": label,
            "licenses": licenses,
            "accounts": {},
            "objects": {},
            "oid": str(database_id),  # tenants are addressed by databaseId
            "licenseOid": self.new_oid(),
            "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        self.state["tenants"][str(database_id)] = tenant
        if status != PARKED:
            self._name_tenant(tenant, name)
        return tenant

    def _name_tenant(self, tenant: dict[str, Any], name: str) -> None:
        tenant["name"] = name
        tenant["accounts"] = {"admin": {"password": tenant_admin_password(name), "role": "admin"}}
        if name != MASTER:
            self.objects_of(tenant).create_trunk(
                {"providerName": "SipTrunk", "host": "sip.sandbox.invalid", "account": name, "objectType": "XCCTrunk"}
            )

    def _customer_tenant_count(self) -> int:
        return sum(1 for t in self.tenants() if t["name"] != MASTER)

    def render_tenant(self, tenant: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": tenant["name"],
            "databaseId": tenant["databaseId"],
            "status": tenant["status"],
            "label": tenant["label"],
            "licenses": tenant["licenses"],
            "usedLicenses": self.objects_of(tenant).licensed_users(),
            "version": self.server_version,
            "permissions": PERMISSIONS,
            "commonName": tenant["name"],
            "oid": tenant["oid"],
            "objectType": "Tenant",
        }

    # lifecycle (also called by the Park Manager simulator)
    def create_named_tenant(self, name: str, *, label: str = "", licenses: int = DEFAULT_LICENCES) -> dict[str, Any]:
        with self.lock:  # type: ignore[attr-defined]
            self._check_new_name(name)
            if self._customer_tenant_count() >= self.capacity_tenants:
                raise invalid(f"the server holds its maximum of {self.capacity_tenants} tenants")
            return self._new_tenant(name, STOPPED, label=label, licenses=licenses)

    def claim_parked_tenant(self, name: str, *, licenses: int, label: str) -> dict[str, Any]:
        """Take a parked tenant (or park a fresh one), name it, set its licences and start it."""
        with self.lock:  # type: ignore[attr-defined]
            self._check_new_name(name)
            tenant = next((t for t in self.tenants() if t["status"] == PARKED), None)
            if tenant is None:
                if self._customer_tenant_count() >= self.capacity_tenants:
                    raise XelionError(400, 10074, f"no parked tenant left and the server holds {self.capacity_tenants}")
                tenant = self._new_tenant(f"parked-{self.next_id('parked', start=SEED_PARKED_TENANTS + 1)}", PARKED)  # type: ignore[attr-defined]
            self._name_tenant(tenant, name)
            tenant.update({"label": label, "licenses": licenses, "status": STOPPED})
            self.set_tenant_status(tenant["databaseId"], started=True)
            return copy.deepcopy(tenant)

    def _check_new_name(self, name: str) -> None:
        if not isinstance(name, str) or not TENANT_NAME.match(name) or name.startswith("parked-"):
            raise invalid(f"{name!r} is not a valid tenant name (lower-case letters, digits, dots and hyphens)")
        if self.tenant_by_name(name) is not None:
            raise XelionError(500, 11000, f"a tenant named {name!r} already exists")

    def set_tenant_status(self, database_id: int, *, started: bool) -> dict[str, Any]:
        with self.lock:  # type: ignore[attr-defined]
            tenant = self.tenant_by_database_id(database_id)
            if tenant is None:
                raise not_found(f"tenant {database_id}")
            if started:
                if tenant["status"] == STARTED:
                    raise XelionError(400, 10062, f"tenant {tenant['name']} is already started")
                running = sum(1 for t in self.tenants() if t["status"] == STARTED and t["name"] != MASTER)
                if tenant["status"] == PARKED or running >= self.capacity_tenants:
                    raise XelionError(400, 10074, f"could not start tenant {tenant['name']}")
                tenant["status"] = STARTED
            elif tenant["name"] == MASTER:
                raise invalid("the master tenant cannot be stopped")
            elif tenant["status"] == STARTED:
                tenant["status"] = STOPPED
                self.revoke_tenant_sessions(tenant["name"])  # type: ignore[attr-defined]
            return copy.deepcopy(tenant)

    # the master tenant's API
    def master_endpoint(self, request: Request, tenant_name: str, segments: list[str], session: Any) -> Response:
        if not self.multi_tenant:
            raise XelionError(404, 10060, "this server has no multi-tenant set-up")
        if tenant_name != MASTER:
            raise XelionError(400, 10063, "tenants are managed on the master tenant only")
        if session.subject["role"] != "admin":
            raise XelionError(403, 10101, "no permission to manage tenants")
        href = f"{request.host_url}api/v1/{MASTER}/tenants"
        method = request.method
        if segments == ["tenants"] and method == "GET":
            with self.lock:  # type: ignore[attr-defined]
                rendered = [self.render_tenant(t) for t in self.tenants()]
            return json_response(listing(rendered, request.args, href))
        if segments == ["tenants"] and method == "POST":
            body = self.read_body(request, dict)  # type: ignore[attr-defined]
            unknown = set(body) - {"name", "label", "licenses", "objectType", "commonName"}
            if unknown:
                raise invalid(f"Tenant has no attribute(s) {', '.join(sorted(unknown))}")
            label, licenses = body.get("label", ""), body.get("licenses", DEFAULT_LICENCES)
            if not isinstance(label, str) or len(label) > 200:
                raise invalid("label must be a string of at most 200 characters")
            if isinstance(licenses, bool) or not isinstance(licenses, int) or licenses < 0:
                raise invalid("licenses must be a number ≥ 0")
            tenant = self.create_named_tenant(body.get("name"), label=label, licenses=licenses)
            return json_response(one(self.render_tenant(tenant), f"{href}/{tenant['databaseId']}"))
        if len(segments) < 2 or not segments[1].isdigit():
            raise XelionError(404, 10100, f"invalid path {request.path}")
        database_id = int(segments[1])
        action = segments[2:]
        if action == [] and method == "GET":
            tenant = self.tenant_by_database_id(database_id)
            if tenant is None:
                raise not_found(f"tenant {database_id}")
            return json_response(one(self.render_tenant(tenant), f"{href}/{database_id}"))
        if action in (["start"], ["stop"]) and method == "POST":
            tenant = self.set_tenant_status(database_id, started=action == ["start"])
            return json_response(one(self.render_tenant(tenant), f"{href}/{database_id}"))
        raise XelionError(404, 10100, f"invalid path {method} {request.path}")
