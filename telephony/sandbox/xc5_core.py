"""What every XC5-XS endpoint family shares: the caller and its scope, the always-an-array HAL
answers, strict body and query parsing, account look-ups and the account cascade on delete.

`Xc5Core` is a mixin of `Xc5Simulator` (telephony/sandbox/xc5.py); it expects `self.state` and
`self.lock` from `Simulator`.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput, json_response, require_json_content_type
from telephony.sandbox.xc5_schema import ACCOUNT_FIELDS, LEAN_ACCOUNT_KEYS, clean, is_guid, like

API_ROOT = "/api-sys"
HAL_JSON = "application/hal+json"
POOL_ACCOUNT = "_unassigned.pool"
# What the drivers use beyond the seed (docs/backend-fidelity.md): refused when documented-only.
ACCOUNT_FIELD_EXTENSIONS = frozenset({"description", "ums_pin", "cfna_dest", "cfna_active", "concurrent_limit"})
PARAMETER_EXTENSIONS = frozenset({"dump-config"})
SUB_COLLECTIONS = ("numbers", "routes", "callrules", "forks", "prompts")


@dataclass(frozen=True)
class Caller:
    """The authenticated API account and what it may reach."""

    account_guid: str
    username: str
    access: str  # "system": the whole system; "user": the account and its descendants


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_password() -> str:
    return secrets.token_urlsafe(12)


def hal(records: list[dict[str, Any]], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Every XC5 answer: a JSON array of records, application/hal+json."""
    return json_response(records, status=status, content_type=HAL_JSON, headers=headers)


def link(href: str) -> dict[str, str]:
    return {"href": href}


def account_href(guid: str | None) -> str:
    return f"{API_ROOT}/account/{guid}" if guid else f"{API_ROOT}/account"


class Xc5Core:
    """Helpers shared by the endpoint mixins."""

    state: dict[str, Any]

    # request parsing
    @staticmethod
    def body(request: Request, *, required: bool = True) -> dict[str, Any]:
        raw = request.get_data(cache=True)
        if not raw.strip():
            if required:
                raise BadInput("empty payload")
            return {}
        require_json_content_type(request)
        try:
            data = json.loads(raw)
        except ValueError:
            raise BadInput("payload is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadInput("Put/Patch JSON content as an object only")
        return data

    def params(self, request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
        """The query parameters, refusing unknown ones. `filter` keeps a raw `%88` (the seed sends
        `?filter=%88` unencoded, meaning the LIKE pattern "%88", not the byte 0x88)."""
        if self.faults.documented_only:  # named by the facts file, its answer's shape by nothing
            allowed = tuple(name for name in allowed if name not in PARAMETER_EXTENSIONS)
        values: dict[str, str] = {}
        for pair in request.query_string.decode("latin-1").split("&"):
            if not pair:
                continue
            name, _, raw = pair.partition("=")
            if name not in allowed:
                raise BadInput(f"unknown parameter: {name}")
            try:
                values[name] = unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
            except UnicodeDecodeError:
                values[name] = raw  # not a percent-encoding after all: a literal LIKE wildcard
        return values

    def account_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        """An account body checked field by field; documented-only, without the fields the seed
        shows only on HydraAccount lines or not at all."""
        if self.faults.documented_only:
            extension = next((name for name in body if name in ACCOUNT_FIELD_EXTENSIONS), None)
            if extension:
                raise BadInput(f"unknown field: {extension}")
        return clean(ACCOUNT_FIELDS, body)

    @staticmethod
    def flag(params: dict[str, str], name: str, default: bool = False) -> bool:
        value = params.get(name)
        if value is None:
            return default
        if value.lower() in ("", "true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise BadInput(f"{name} must be true or false")

    # accounts and scope
    def accounts(self) -> dict[str, dict[str, Any]]:
        return self.state["accounts"]

    def account_by_name(self, name: str) -> dict[str, Any] | None:
        lowered = name.lower()
        return next((acc for acc in self.accounts().values() if acc["username"].lower() == lowered), None)

    def number_by_value(self, number: str) -> dict[str, Any] | None:
        return next((item for item in self.state["numbers"].values() if item["number"] == number), None)

    def pool(self) -> dict[str, Any]:
        pool = self.account_by_name(POOL_ACCOUNT)
        assert pool is not None, "the seed always holds _unassigned.pool"
        return pool

    def ancestors(self, guid: str) -> list[str]:
        chain, current = [], self.accounts()[guid]["parent_guid"]
        while current:
            chain.append(current)
            current = self.accounts()[current]["parent_guid"]
        return chain

    def root_of(self, guid: str) -> str:
        chain = self.ancestors(guid)
        return chain[-1] if chain else guid

    def visible(self, caller: Caller, guid: str) -> bool:
        return caller.access == "system" or guid == caller.account_guid or caller.account_guid in self.ancestors(guid)

    def find_account(self, caller: Caller, key: str) -> dict[str, Any]:
        """An account by guid or account name; outside the caller's tree it does not exist (404)."""
        account = self.accounts().get(key.upper()) if is_guid(key) else self.account_by_name(key)
        if account is None or not self.visible(caller, account["guid"]):
            raise BadInput("account not found", 404)
        return account

    def children(self, guid: str | None, *, horizontal: bool) -> list[dict[str, Any]]:
        direct = [acc for acc in self.accounts().values() if acc["parent_guid"] == guid]
        if not horizontal:
            return direct
        found = []
        for child in direct:
            found.append(child)
            found.extend(self.children(child["guid"], horizontal=True))
        return found

    def list_accounts(self, caller: Caller, parent: dict[str, Any] | None, params: dict[str, str]) -> list[dict]:
        horizontal = self.flag(params, "horizontal")
        if parent is not None:
            found = self.children(parent["guid"], horizontal=horizontal)
        elif caller.access == "system":
            found = list(self.accounts().values()) if horizontal else self.children(None, horizontal=False)
        else:
            own = self.accounts()[caller.account_guid]
            found = [own, *(self.children(own["guid"], horizontal=True) if horizontal else [])]
        pattern = params.get("filter", "%")
        dump = self.flag(params, "dump-config")
        index = self.owned_index() if dump else None  # one look through each collection, not one per account
        return [
            self.present_account(acc, verbose=dump, dump=dump, index=index)
            for acc in sorted(found, key=lambda acc: acc["username"].lower())
            if like(pattern, acc["username"])
        ]

    # presentation
    def present_account(
        self, account: dict[str, Any], *, verbose: bool, dump: bool = False, index: dict | None = None
    ) -> dict[str, Any]:
        parent_guid = account["parent_guid"]
        parent_name = self.accounts()[parent_guid]["username"] if parent_guid else None
        record = {key: account[key] for key in LEAN_ACCOUNT_KEYS if key != "parent"}
        record["parent"] = parent_name
        guid = account["guid"]
        links = {"self": link(account_href(guid)), "parent": link(account_href(parent_guid))}
        if verbose:
            record.update({key: value for key, value in account.items() if key not in ("parent_guid", "guid")})
            record["parent"] = parent_name
            record["mailbox"] = account["ums_pin"] is not None
            for sub in ("child", "number", "route", "callrule", "fork", "prompt", "reg"):
                links[sub] = link(f"{account_href(guid)}/{sub}")
        if dump:
            for key in SUB_COLLECTIONS:
                record[key] = [self.present_sub(key, item) for item in self.owned(key, guid, index)]
        record["_links"] = links
        return record

    def owned_index(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """collection → account guid → its items, for presenting many accounts at once."""
        index: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for collection in SUB_COLLECTIONS:
            by_account = index[collection] = {}
            for item in self.state[collection].values():
                by_account.setdefault(item["account_guid"], []).append(item)
        return index

    def owned(self, collection: str, account_guid: str, index: dict | None = None) -> list[dict[str, Any]]:
        if index is not None:
            items = index[collection].get(account_guid, [])
        else:
            items = [item for item in self.state[collection].values() if item["account_guid"] == account_guid]
        if collection == "numbers":
            return sorted(items, key=lambda item: item["number"])
        if collection in ("routes", "callrules"):
            return sorted(items, key=lambda item: (item["order"], item.get("menu_level") or 0, item["seq"]))
        return sorted(items, key=lambda item: item["seq"])

    def present_sub(self, collection: str, item: dict[str, Any], *, via_account: str | None = None) -> dict[str, Any]:
        """A number, route, callrule, fork or prompt with its links under the owning account (or under
        `via_account`, the account a free pool number would be allocated to)."""
        owner = via_account or item["account_guid"]
        singular = collection[:-1]
        record = {key: value for key, value in item.items() if key not in ("account_guid", "seq", "from_pool")}
        if collection == "numbers":
            record["assigned"] = self.accounts()[item["account_guid"]]["username"]
        record["_links"] = {
            "self": link(f"{account_href(owner)}/{singular}/{item['guid']}"),
            "parent": link(account_href(owner)),
        }
        return record

    def next_seq(self) -> int:
        counters = self.state.setdefault("_counters", {})
        counters["seq"] = counters.get("seq", 0) + 1
        return counters["seq"]

    # deletion
    def delete_account(self, account: dict[str, Any]) -> None:
        """Removes an account and what it owns. Numbers that came from _unassigned.pool go back to it;
        numbers created on the account are removed."""
        if self.children(account["guid"], horizontal=False):
            raise BadInput("account has child accounts; delete them first", 409)
        for number in self.owned("numbers", account["guid"]):
            self.release_number(number)
        for collection in ("routes", "callrules", "forks", "prompts"):
            for item in self.owned(collection, account["guid"]):
                del self.state[collection][item["guid"]]
        del self.accounts()[account["guid"]]

    def release_number(self, number: dict[str, Any]) -> None:
        if number["from_pool"]:
            number.update(
                {
                    "account_guid": self.pool()["guid"],
                    "is-pilot": False,
                    "cfa": "",
                    "alert-info": "",
                    "account-code": "",
                }
            )
        else:
            del self.state["numbers"][number["guid"]]
