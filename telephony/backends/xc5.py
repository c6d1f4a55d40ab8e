"""Driver for the XC5-XS system provisioning API (`/api-sys/`, Basic authentication); the wire
protocol (error mapping, PATCH fallback) is in `xc5_client`, the record mapping in `xc5_mapping`.

How the portal's concepts map onto XC5 (which has accounts, numbers, routes and callrules only):

- server: the XC5 system itself, one per platform, named after its host.
- tenant: a virtual-environment account, a root account named like a domain (`acmebrick.x.co.nz`).
  Creating one that exists adopts it; deleting one deletes its child accounts first (XC5 refuses to
  delete an account that has children). XC5 cannot start or stop an environment.
- entity: XC5 has no such object; an entity is bookkeeping in the portal. Its number plan is
  realised per user by the extension-dialling callrules at order -2 on the environment account (the
  portal picks free numbers from its own mirror). Entities do not set pickup groups (that would
  change call behaviour the customer did not ask for).
- template: no object either; its values are written to each user account: `cfna_duration`
  (ring time before the no-answer forward), `concurrent_limit`, and voicemail (a UMS mailbox).
- user: a child account `<username>@<tenant name>` of the environment (created with a generated SIP
  password), `description` = display name (or "first last"), voicemail = `ums_pin` (the portal's
  PIN, else a random one the first time; null removes the mailbox), plus the callrule
  `{"order": -2, "prefix_raw": <internal>, "username": <account>, "destination": ":<internal>"}` on
  the environment. Call forwarding: no-answer (XC5's CFNA also covers busy, so busy is used when
  no-answer is empty) = `cfna_dest`/`cfna_active` with `cfna_duration` = its timeout; forward-always
  = an account route at order -10 (before the phone rings). XC5 accounts hold no email address, and
  the per-number `cfa` is left alone (it would not catch internal calls).
- number: an account number, stored without "+" (the portal speaks E.164 with "+"). Assign = PUT
  `account/<user>/number`, which also takes the number from `_unassigned.pool` or from the
  environment's own stock; unassign = DELETE (a pool number goes back to the pool).
- pilot: XC5 flags numbers `is-pilot` ("a default for invalid presented caller number"), one per
  account. The portal's one pilot per tenant is written on the account that holds the number: a
  user's number is written with `is-pilot` true or false every time it is pushed (never left to
  what XC5 chooses by itself), and a pilot that is on no user is the environment's own number with
  `is-pilot` (the environment's main number). Every write of the flag is read back from XC5's
  answer, and the drift scan compares each user's pilot (docs/backend-fidelity.md).
- identities: `xc5_guid` is the account or number guid, `xc5_name` the account name or number.
- renames: the seed says nothing of XC5 moving an account's callrules when the account is renamed,
  so the driver moves the extension rule itself; a rename replayed after its PATCH went through
  recognises the rule still under the old name by the name the portal last saw (`xc5_name`).
- adoption: an environment or account found by its name (not by the guid the portal holds) is
  taken over only when the ownership accepts it (no other portal row holds it), and an account only
  as a child of the tenant's environment; otherwise ConflictError, and nothing is written. Deletes
  leave such accounts alone. The canonical keys are the guids of environments and accounts.
- read-back (`fetch_state`, two calls thanks to `dump-config`): every direct child account of the
  environment is reported as a user (hunt groups and IVR accounts made outside the portal too);
  the environment's own numbers are reported unassigned. Voicemail is on when the user or the
  template asks for it; first/last name are read back by splitting `description` at its first space.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy, gettext_noop

from telephony.backends.base import (
    KIND_XC5,
    BackendRef,
    Connection,
    Driver,
    EntitySpec,
    HealthInfo,
    ReadBack,
    ServerInfo,
    TemplateSpec,
    TenantInfo,
    TenantRef,
    TenantSpec,
    UserSpec,
    UserState,
    backend_ref,
)
from telephony.backends.capabilities import Capabilities, LineFeatures, TemplateSetting, documented_subset
from telephony.backends.errors import ConflictError, NotFoundError, RejectedError
from telephony.backends.http import ExchangeLog
from telephony.backends.xc5_client import Xc5Client, api_path
from telephony.backends.xc5_mapping import (
    ENVIRONMENT_NAME,
    account_fields,
    check_pilot,
    extension_numbers,
    is_environment,
    local_part,
    number_state,
    to_xc5_number,
    user_state,
)
from telephony.backends.xc5_sync import Xc5AccountSync

ALLOCATION_ATTEMPTS = 5


class Xc5Driver(Xc5AccountSync, Driver):
    """The XC5-XS system provisioning API behind the portal's operations (see the module docstring)."""

    kind = KIND_XC5
    capabilities = Capabilities(
        label="XC5-XS",
        pbx_name="XC5",
        tenant_name_rule=(
            ENVIRONMENT_NAME.pattern,
            gettext_lazy("An XC5 virtual environment is named like a domain (acme.x.co.nz)."),
        ),
        # XC5's no-answer forward (CFNA) also takes busy calls: one destination for both.
        line_features=LineFeatures(busy_with_no_answer=True),
        template_settings=(
            TemplateSetting(
                "cfna_duration",
                gettext_noop("XC5 no-answer seconds"),
                20,
                help_text=gettext_lazy("Seconds before an unanswered call goes on (when the user sets no forwarding)."),
                minimum=5,
                maximum=300,
            ),
            TemplateSetting("concurrent_limit", gettext_noop("XC5 concurrent calls"), 2, minimum=1, maximum=30),
        ),
        settings_group="xc5",
        settings_label="XC5",
        keeps_pilot=True,
    )
    # Display name, voicemail, no-answer forwarding and the call limit are account fields the seed
    # shows only on HydraAccount lines (backend-fidelity.md); the ring time before the no-answer
    # step (`cfna_duration`) is documented on ordinary accounts.
    documented_capabilities = documented_subset(
        capabilities,
        line={
            "display_name": False,
            "forward_busy": False,
            "forward_no_answer": False,
            "busy_with_no_answer": False,
            "voicemail": False,
            "voicemail_pin": False,
        },
        template_settings=capabilities.template_settings[:1],
    )

    def __init__(self, connection: Connection, *, log: ExchangeLog | None = None):
        super().__init__(connection, log=log)
        self.client = Xc5Client(connection, self.log)
        self.host = urlsplit(connection.base_url).hostname or connection.base_url

    def claim_key(self, kind: str, identity: BackendRef, tenant: str = "") -> str:
        # environments and accounts have guids; entities and templates are no objects on XC5
        if kind == "server":
            return identity.get("xc5_name", "")
        return identity.get("xc5_guid", "") if kind in ("tenant", "user") else ""

    # health and inventory
    def health(self) -> HealthInfo:
        index = self.client.get("")
        version = next((str(item["version"]) for item in index if item.get("version")), "XC5-XS")
        apis = ", ".join(str(item["api"]) for item in index if item.get("api") and not item.get("version"))
        return HealthInfo(version=version, detail=f"/api-sys/ index: {apis}" if apis else "")

    def list_servers(self) -> list[ServerInfo]:
        self.client.get("")  # proves the system answers and the credentials work
        return [ServerInfo(name=f"XC5-XS {self.host}", host=self.host, identity=backend_ref(xc5_name=self.host))]

    def list_tenants(self) -> list[TenantInfo]:
        roots = self.client.get("account")
        return [self._tenant_info(item) for item in roots if is_environment(item)]

    # tenants
    def create_tenant(self, spec: TenantSpec) -> TenantInfo:
        if not ENVIRONMENT_NAME.match(spec.name):
            raise RejectedError(f"an XC5 virtual environment is named like a domain (acme.x.co.nz), not {spec.name!r}")
        existing = self._account("", spec.name)
        if existing is None:
            labelled = spec.label and not self.connection.documented_only
            body = {"username": spec.name, **({"description": spec.label} if labelled else {})}
            return self._tenant_info(self.client.put("account/", body)[0])
        if existing.get("parent"):
            # not naming the parent: it is another environment, which may be another customer's
            raise ConflictError(f"{spec.name} exists on the platform as an account inside another environment")
        self.adopt("tenant", backend_ref(xc5_guid=existing["guid"]), spec.name)
        if spec.label and existing.get("description") != spec.label and not self.connection.documented_only:
            existing = self.client.patch(api_path("account", existing["guid"]), {"description": spec.label})[0]
        return self._tenant_info(existing)

    def get_tenant(self, tenant: TenantRef) -> TenantInfo | None:
        record = self._account(tenant.identity.get("xc5_guid", ""), tenant.name)
        if record is None or record.get("parent"):
            return None
        return self._tenant_info(record)

    def delete_tenant(self, tenant: TenantRef) -> None:
        record = self._account(tenant.identity.get("xc5_guid", ""), tenant.name)
        if record is None or not self._ours_to_remove("tenant", record, tenant.identity, tenant.name):
            return
        descendants = self.client.get(api_path("account", record["guid"], "child"), {"horizontal": "true"})
        parents = {item["username"]: item.get("parent") for item in descendants}

        def depth(name: str) -> int:
            return 0 if parents.get(name) not in parents else 1 + depth(parents[name])

        for item in sorted(descendants, key=lambda item: depth(item["username"]), reverse=True):
            self.client.delete_if_present(api_path("account", item["guid"]))
        self.client.delete_if_present(api_path("account", record["guid"]))

    # entities: bookkeeping only (see the module docstring)
    def upsert_entity(self, tenant: TenantRef, spec: EntitySpec) -> BackendRef:
        self._tenant_record(tenant)
        return backend_ref(xc5_name=spec.name)

    def delete_entity(self, tenant: TenantRef, spec: EntitySpec) -> None:
        return None

    # templates: applied to each user account
    def upsert_template(self, tenant: TenantRef, spec: TemplateSpec) -> BackendRef:
        return backend_ref(xc5_name=spec.name)

    def delete_template(self, tenant: TenantRef, spec: TemplateSpec) -> None:
        return None

    # users
    def find_user(self, tenant: TenantRef, spec: UserSpec) -> UserState | None:
        record = self._account(spec.identity.get("xc5_guid", ""), self._account_name(tenant, spec), dump=True)
        if record is None:
            return None
        environment = self._tenant_record(tenant)
        rules = self.client.get(api_path("account", environment["guid"], "callrule"))
        return user_state(record, extension_numbers(rules), tenant.name)

    def create_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef:
        if spec.first_try and (made := self._create_first(tenant, spec)) is not None:
            return made
        environment = self._tenant_record(tenant)
        name = self._account_name(tenant, spec)
        existing = self._account(spec.identity.get("xc5_guid", ""), name, dump=True)
        if existing is None:
            body = {"username": name, **self._account_fields(spec, None)}
            created = self.client.put(api_path("account", environment["guid"], "child"), body)[0]
            return self._sync_user(environment, created, spec, name, {"routes": [], "numbers": []})
        self._adopt_account(environment, existing, spec, tenant)
        return self._apply(environment, existing, spec, name)

    def update_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef:
        environment = self._tenant_record(tenant)
        name = self._account_name(tenant, spec)
        existing = self._account(spec.identity.get("xc5_guid", ""), name, dump=True)
        if existing is None:
            raise NotFoundError(f"XC5 account {name} not found")
        self._adopt_account(environment, existing, spec, tenant)
        return self._apply(environment, existing, spec, name)

    def delete_user(self, tenant: TenantRef, spec: UserSpec) -> None:
        name = self._account_name(tenant, spec)
        existing = self._account(spec.identity.get("xc5_guid", ""), name)
        if existing is not None and not self._ours_to_remove("user", existing, spec.identity, tenant.name):
            return  # an account another row holds: not this user's to delete, nor its extension
        environment = self._account(tenant.identity.get("xc5_guid", ""), tenant.name)
        names = {name.lower()} | ({existing["username"].lower()} if existing else set())
        if environment is not None:
            self._sync_extension(environment, names, name, "")
        if existing is not None:
            self.client.delete_if_present(api_path("account", existing["guid"]))

    # external numbers
    def assign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> BackendRef:
        account = self._user_record(tenant, user)
        self._adopt_account(self._tenant_record(tenant), account, user, tenant)
        digits = to_xc5_number(number)
        pilot = number == user.pilot_number
        held = self.client.get(api_path("account", account["guid"], "number"))
        record = next((item for item in held if item["number"] == digits), None)
        if record is None:
            body = {"number": digits, "is-pilot": pilot}
            record = self.client.put(api_path("account", account["guid"], "number"), body)[0]
        elif bool(record.get("is-pilot")) != pilot:
            path = api_path("account", account["guid"], "number", record["guid"])
            record = self.client.patch(path, {"is-pilot": pilot})[0]
        check_pilot(record, pilot, account["username"])
        return backend_ref(xc5_guid=record["guid"], xc5_name=digits)

    def set_tenant_pilot(
        self, tenant: TenantRef, number: str, *, pilot: bool, release: bool = False
    ) -> BackendRef | None:
        """The tenant's pilot on no user: the environment's own number, flagged `is-pilot`. No longer
        the pilot, it stays the environment's unflagged; `release`d (no longer the tenant's), the
        environment lets go of it (a pool number goes back to `_unassigned.pool`)."""
        environment = self._tenant_record(tenant)
        digits = to_xc5_number(number)
        path = api_path("account", environment["guid"], "number")
        record = next((item for item in self.client.get(path) if item["number"] == digits), None)
        if release:
            if record is not None:
                self.client.delete_if_present(api_path("account", environment["guid"], "number", record["guid"]))
            return None
        if record is None:
            if not pilot:
                return None  # not on the environment, and nothing asks for it there
            record = self.client.put(path, {"number": digits, "is-pilot": True})[0]
        elif bool(record.get("is-pilot")) != pilot:
            record = self.client.patch(
                api_path("account", environment["guid"], "number", record["guid"]), {"is-pilot": pilot}
            )[0]
        check_pilot(record, pilot, environment["username"])
        return backend_ref(xc5_guid=record["guid"], xc5_name=digits)

    def unassign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> None:
        account = self._account(user.identity.get("xc5_guid", ""), self._account_name(tenant, user))
        if account is None or not self._ours_to_remove("user", account, user.identity, tenant.name):
            return
        digits = to_xc5_number(number)
        held = self.client.get(api_path("account", account["guid"], "number"))
        for item in held:
            if item["number"] == digits:
                self.client.delete_if_present(api_path("account", account["guid"], "number", item["guid"]))

    # read-back
    def read_tenant(self, tenant: TenantRef) -> Iterator[ReadBack]:
        environment = self._tenant_record(tenant)
        yield self._tenant_info(environment)
        guid = environment["guid"]
        # the environment's callrules (one per extension) and numbers are read as lists of their own,
        # parsed as they arrive: the environment with everything in it would be one large answer
        extensions = extension_numbers(self.client.stream(api_path("account", guid, "callrule")))
        yield from (number_state(item, "") for item in self.client.stream(api_path("account", guid, "number")))
        children_path = api_path("account", guid, "child")
        if self.connection.documented_only:  # each child as "view a single account" shows it, then its parts
            children = (
                self._configured(self.client.get(api_path("account", c["guid"]))[0])
                for c in self.client.stream(children_path)
            )
        else:
            children = self.client.stream(children_path, {"dump-config": "true"})
        for child in children:
            yield user_state(child, extensions, environment["username"])
            local = local_part(child["username"], environment["username"])
            yield from (number_state(item, local) for item in child.get("numbers", []))

    def close(self) -> None:
        self.client.close()

    # helpers
    def _account(self, guid: str, name: str, *, dump: bool = False) -> dict[str, Any] | None:
        """An account by its stored guid, else by its natural key, the account name; `dump`: with
        its numbers, routes and callrules."""
        documented = self.connection.documented_only
        params = {"dump-config": "true"} if dump and not documented else None
        for key in (guid, name):
            if key:
                found = self.client.get_optional(api_path("account", key), params)
                if found:
                    return self._configured(found[0]) if dump and documented else found[0]
        return None

    def _configured(self, record: dict[str, Any]) -> dict[str, Any]:
        """The account with its numbers, routes and callrules read one collection at a time, as the
        seed documents them (`dump-config` gives them in one call, in a shape no document shows)."""
        for collection in ("numbers", "routes", "callrules"):
            record[collection] = self.client.get(api_path("account", record["guid"], collection[:-1]))
        return record

    def _account_fields(self, spec: UserSpec, existing: dict[str, Any] | None) -> dict[str, Any]:
        return account_fields(spec, existing, documented_only=self.connection.documented_only)

    def _tenant_record(self, tenant: TenantRef, *, dump: bool = False) -> dict[str, Any]:
        record = self._account(tenant.identity.get("xc5_guid", ""), tenant.name, dump=dump)
        if record is None or record.get("parent"):
            raise NotFoundError(f"XC5 virtual environment {tenant.name} not found")
        if record["guid"] != tenant.identity.get("xc5_guid", ""):
            self.adopt("tenant", backend_ref(xc5_guid=record["guid"]), tenant.name)  # found by its name
        return record

    def _adopt_account(
        self, environment: dict[str, Any], account: dict[str, Any], spec: UserSpec, tenant: TenantRef
    ) -> None:
        """An account is this user's when it holds the guid the portal learnt; found by its name, it
        is taken over only as a child of the tenant's environment that no other row holds."""
        if spec.identity.get("xc5_guid", "") and account["guid"] == spec.identity.get("xc5_guid", ""):
            return
        if (account.get("parent") or "").lower() != environment["username"].lower():
            raise ConflictError(f"account {account['username']} exists outside {environment['username']}")
        self.adopt("user", backend_ref(xc5_guid=account["guid"]), tenant.name)

    def _ours_to_remove(self, kind: str, record: dict[str, Any], identity: BackendRef, tenant: str) -> bool:
        if identity.get("xc5_guid", "") and record["guid"] == identity.get("xc5_guid", ""):
            return True
        return self.may_remove(kind, backend_ref(xc5_guid=record["guid"]), tenant)

    def _user_record(self, tenant: TenantRef, user: UserSpec) -> dict[str, Any]:
        record = self._account(user.identity.get("xc5_guid", ""), self._account_name(tenant, user))
        if record is None:
            raise NotFoundError(f"XC5 account {self._account_name(tenant, user)} not found")
        return record

    @staticmethod
    def _account_name(tenant: TenantRef, spec: UserSpec) -> str:
        username = spec.username.strip()
        if "@" not in username:
            return f"{username}@{tenant.name}"
        if username.lower().endswith("@" + tenant.name.lower()):
            return username
        raise RejectedError(f"XC5 user accounts are named <user>@{tenant.name}, not {username!r}")

    def _tenant_info(self, record: dict[str, Any]) -> TenantInfo:
        return TenantInfo(
            name=record["username"],
            identity=backend_ref(xc5_guid=record["guid"], xc5_name=record["username"]),
            label=record.get("description", ""),
            status="started" if record.get("enabled", True) else "stopped",
            server_name=f"XC5-XS {self.host}",
        )
