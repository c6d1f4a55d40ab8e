"""Making an XC5 user account say what a user spec says: its fields, the environment's extension
callrule that dials it, its forward-always route and its numbers (see `xc5` for the mapping)."""

from __future__ import annotations

from typing import Any

from telephony.backends.base import BackendRef, TenantRef, UserSpec, UserState, backend_ref
from telephony.backends.compare import Difference
from telephony.backends.errors import AlreadyExistsError, NotFoundError
from telephony.backends.xc5_client import Xc5Client, api_path
from telephony.backends.xc5_mapping import (
    EXTENSION_ORDER,
    FORWARD_ALWAYS_ORDER,
    check_pilot,
    extension_numbers,
    is_extension_rule,
    is_forward_always,
    to_xc5_destination,
    to_xc5_number,
    user_state,
)


class Xc5AccountSync:
    """Mixin of `Xc5Driver`: the writes that converge one user account, and how one is compared."""

    client: Xc5Client
    connection: Any

    def user_differences(self, spec: UserSpec, state: UserState) -> list[Difference]:
        # the account's one name is its description: "first last", or the display name
        differences = [
            d
            for d in super().user_differences(spec, state)  # type: ignore[misc]
            if d.field not in ("first_name", "last_name")
        ]
        if not self.connection.documented_only:
            wanted = spec.display_name.strip() or " ".join(p for p in (spec.first_name, spec.last_name) if p)
            held = " ".join(p for p in (state.first_name, state.last_name) if p)
            if wanted != held:
                differences.insert(0, Difference("display_name", wanted, held))
        return differences

    def _account_fields(self, spec: UserSpec, existing: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def _account_name(self, tenant: TenantRef, spec: UserSpec) -> str:
        raise NotImplementedError

    def _create_first(self, tenant: TenantRef, spec: UserSpec) -> BackendRef | None:
        """A first try (`UserSpec.first_try`) makes the account under the environment the portal
        learnt, without reading the environment, and writes its extension without reading the
        account back: the account's answer and the callrules read and written are what the PBX
        holds of a user with no numbers and no forwarding. Its name is looked up first all the
        same: XC5's PUT updates an account of that name (the seed: "PUT creates if required"),
        which may not be the portal's. None: an account has the name, or the environment is gone;
        the create then goes through the look-up and the ownership-checked adoption."""
        guid = tenant.identity.get("xc5_guid", "")
        name = self._account_name(tenant, spec)
        if not guid or self.client.get_optional(api_path("account", name)):
            return None
        environment = {"guid": guid, "username": tenant.name}
        body = {"username": name, **self._account_fields(spec, None)}
        try:
            created = self.client.put(api_path("account", guid, "child"), body)[0]
        except NotFoundError:
            return None
        rules = self._sync_extension(environment, {name.lower()}, name, spec.internal_number)
        identity = self._sync_user(environment, created, spec, name, {"routes": [], "numbers": []}, extension=False)
        if not spec.external_numbers and not spec.forwarding.always:
            self.answered_with(user_state(created, extension_numbers(rules), tenant.name))  # type: ignore[attr-defined]
        return identity

    def _apply(self, environment: dict[str, Any], existing: dict[str, Any], spec: UserSpec, name: str) -> BackendRef:
        wanted = self._account_fields(spec, existing)
        if existing["username"] != name:
            wanted["username"] = name
        changes = {key: value for key, value in wanted.items() if existing.get(key) != value}
        account = existing
        if changes:
            account = self.client.patch(api_path("account", existing["guid"]), changes)[0]
        # The name the portal last saw on the PBX too: a rename replayed after its PATCH went
        # through finds the account renamed already, and its extension still under the old name.
        old_names = {
            existing["username"].lower(),
            *([spec.identity.get("xc5_name", "").lower()] if spec.identity.get("xc5_name", "") else []),
        }
        return self._sync_user(environment, account, spec, name, existing, old_names)

    def _sync_user(
        self,
        environment: dict[str, Any],
        account: dict[str, Any],
        spec: UserSpec,
        name: str,
        dumped: dict[str, Any],
        old_names: set[str] | None = None,
        *,
        extension: bool = True,
    ) -> BackendRef:
        """Makes the extension callrule (unless made already: `extension` false), the forward-always
        route and the numbers match the spec."""
        if extension:
            self._sync_extension(environment, {name.lower(), *(old_names or set())}, name, spec.internal_number)
        self._sync_forward_always(account, dumped.get("routes", []), spec.forwarding.always)
        held = {item["number"]: item for item in dumped.get("numbers", [])}
        for number in spec.external_numbers:
            digits, pilot = to_xc5_number(number), number == spec.pilot_number
            record = held.get(digits)
            if record is None:
                body = {"number": digits, "is-pilot": pilot}
                record = self.client.put(api_path("account", account["guid"], "number"), body)[0]
            elif bool(record.get("is-pilot")) != pilot:
                path = api_path("account", account["guid"], "number", record["guid"])
                record = self.client.patch(path, {"is-pilot": pilot})[0]
            check_pilot(record, pilot, account["username"])
        return backend_ref(xc5_guid=account["guid"], xc5_name=account["username"])

    def _sync_extension(
        self, environment: dict[str, Any], names: set[str], name: str, internal: str
    ) -> list[dict[str, Any]]:
        """Exactly one extension callrule for the account (none without an internal number); returns
        the extension rules as read, with the one written (as XC5 answered it)."""
        path = api_path("account", environment["guid"], "callrule")
        rules = [rule for rule in self.client.get(path) if is_extension_rule(rule)]
        mine = [rule for rule in rules if str(rule["username"]).lower() in names]
        clash = next(
            (r for r in rules if r["prefix_raw"] == internal and str(r["username"]).lower() not in names), None
        )
        if internal and clash:
            raise AlreadyExistsError(
                f"extension {internal} already dials {clash['username']} in {environment['username']}"
            )
        wanted = {"order": EXTENSION_ORDER, "prefix_raw": internal, "username": name, "destination": f":{internal}"}
        keep = None
        if internal:
            keep = next((rule for rule in mine if all(rule.get(k) == v for k, v in wanted.items())), None)
            if keep is None and mine:
                keep = mine[0]
                self.client.patch(api_path("account", environment["guid"], "callrule", keep["guid"]), wanted)
            elif keep is None:
                rules.insert(0, self.client.put(path, wanted)[0])  # ahead of any other of the account's
        for rule in mine:
            if keep is None or rule["guid"] != keep["guid"]:
                self.client.delete_if_present(api_path("account", environment["guid"], "callrule", rule["guid"]))
        return rules

    def _sync_forward_always(self, account: dict[str, Any], routes: list[dict[str, Any]], always: str) -> None:
        current = next((route for route in routes if is_forward_always(route)), None)
        if always:
            destination = to_xc5_destination(always)
            if current is None or current.get("destination") != destination:
                route = {"order": FORWARD_ALWAYS_ORDER, "destination": destination}
                self.client.put(api_path("account", account["guid"], "route"), route)
        elif current is not None:
            self.client.delete_if_present(api_path("account", account["guid"], "route", current["guid"]))
