"""XC5-XS account endpoints: the index, accounts and child accounts, and HydraAccount (POTS lines).

Decisions where the seed is silent:
- Creating an account whose name exists: under the same parent it is an update ("PUT creates if
  required", 200); anywhere else 409 "username already exists". Names are unique system-wide and
  compared case-insensitively.
- `PUT account/<name>` creates a root account when <name> does not exist; `PATCH` and
  `PUT ?patch=true` only update (404). A guid that does not exist cannot be created (404).
- An account with child accounts cannot be deleted (409); nobody deletes the account they are
  authenticated as, and reserved accounts (`_unassigned.pool`, `_prompts…`) cannot be created,
  changed or deleted through the API (403), nor can what they hold (numbers, routes, callrules,
  forks, prompts): a free number leaves `_unassigned.pool` by a PUT on the account that takes it,
  and comes back when that account lets it go.
- Only api_access=system callers create root accounts or set `accountresource`.
- HydraAccount lines are child accounts of the seeded `_tel` account, named by their number, and
  hold that number (taken from `_unassigned.pool` when it is free there).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput
from telephony.sandbox.xc5_core import (
    API_ROOT,
    Caller,
    Xc5Core,
    account_href,
    generated_password,
    hal,
    link,
    new_guid,
    now_iso,
)
from telephony.sandbox.xc5_schema import ACCOUNT_FIELDS, HYDRA_FIELDS, clean, is_guid, number_text, reserved_prefix

VERSION = "XC5-XS 5.4.2 (sandbox)"
HYDRA_CONTAINER = "_tel"
INDEX = (
    ("account", "Accounts, their numbers, routes, callrules, forks, prompts and registrations"),
    ("guid", "A fresh guid"),
    ("location", "Locations for callrule conditions"),
    ("hydraaccount", "POTS lines with basic features"),
)
ACCOUNT_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "description": "",
    "cfna_duration": 20,
    "cfna_dest": "",
    "cfna_active": False,
    "concurrent_limit": 2,
    "pickup_group": None,
    "ums_pin": None,
    "private": 0,
    "callerid": True,
}


class AccountEndpoints(Xc5Core):
    """The index, /account, /account/<x>, /account/<x>/child and /hydraaccount/<number>."""

    def index_get(self, request: Request, caller: Caller) -> Response:
        self.params(request, ())
        records = [
            {
                "api": "api-sys",
                "description": "XC5-XS system provisioning API",
                "version": VERSION,
                "authenticated_as": caller.username,
                "api_access": caller.access,
                "_links": {"self": link(f"{API_ROOT}/")},
            }
        ]
        for name, description in INDEX:
            records.append(
                {
                    "api": name,
                    "description": description,
                    "_links": {"self": link(f"{API_ROOT}/{name}"), "parent": link(f"{API_ROOT}/")},
                }
            )
        return hal(records)

    # collections
    def account_list(self, request: Request, caller: Caller) -> Response:
        return hal(self.list_accounts(caller, None, self.params(request, ("filter", "horizontal", "dump-config"))))

    def child_list(self, request: Request, caller: Caller, key: str) -> Response:
        parent = self.find_account(caller, key)
        return hal(self.list_accounts(caller, parent, self.params(request, ("filter", "horizontal", "dump-config"))))

    def account_create(self, request: Request, caller: Caller) -> Response:
        self.params(request, ("patch",))
        fields = self.account_fields(self.body(request))
        parent = self.find_account(caller, fields["parent"]) if fields.get("parent") else None
        return self.upsert_account(caller, fields, parent)

    def child_create(self, request: Request, caller: Caller, key: str) -> Response:
        self.params(request, ("patch",))
        parent = self.find_account(caller, key)
        fields = self.account_fields(self.body(request))
        if fields.get("parent") and self.find_account(caller, fields["parent"])["guid"] != parent["guid"]:
            raise BadInput("parent in the body differs from the path")
        return self.upsert_account(caller, fields, parent)

    # one account
    def account_get(self, request: Request, caller: Caller, key: str) -> Response:
        dump = self.flag(self.params(request, ("dump-config",)), "dump-config")
        return hal([self.present_account(self.find_account(caller, key), verbose=True, dump=dump)])

    def account_put(self, request: Request, caller: Caller, key: str) -> Response:
        patch_only = self.flag(self.params(request, ("patch",)), "patch")
        fields = self.account_fields(self.body(request))
        try:
            account = self.find_account(caller, key)
        except BadInput:
            if patch_only or is_guid(key):
                raise
            fields["username"] = ACCOUNT_FIELDS["username"].check("username", fields.get("username", key))
            if fields["username"].lower() != key.lower():
                raise BadInput("username in the body differs from the path")
            parent = self.find_account(caller, fields["parent"]) if fields.get("parent") else None
            return self.upsert_account(caller, fields, parent)
        return hal([self.present_account(self.update_account(caller, account, fields), verbose=True)])

    def account_patch(self, request: Request, caller: Caller, key: str) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        fields = self.account_fields(self.body(request))
        return hal([self.present_account(self.update_account(caller, account, fields), verbose=True)])

    def account_delete(self, request: Request, caller: Caller, key: str) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        self.refuse_reserved(account)
        if account["guid"] == caller.account_guid:
            raise BadInput("cannot delete the account you are authenticated as", 403)
        record = self.present_account(account, verbose=False)
        self.delete_account(account)
        return hal([record])

    # the rules
    def upsert_account(self, caller: Caller, fields: dict[str, Any], parent: dict[str, Any] | None) -> Response:
        username = fields.get("username")
        if not username:
            raise BadInput("username is required")
        existing = self.account_by_name(username)
        parent_guid = parent["guid"] if parent else None
        if parent is not None:
            self.refuse_reserved(parent)
        if existing is not None:
            if existing["parent_guid"] != parent_guid or not self.visible(caller, existing["guid"]):
                raise BadInput("username already exists", 409)
            fields.pop("parent", None)
            return hal([self.present_account(self.update_account(caller, existing, fields), verbose=True)])
        return hal([self.present_account(self.create_account(caller, fields, parent_guid), verbose=True)], 201)

    def create_account(self, caller: Caller, fields: dict[str, Any], parent_guid: str | None) -> dict[str, Any]:
        prefix = reserved_prefix(fields["username"])
        if prefix:
            raise BadInput(f"account names starting with {prefix} are reserved")
        if parent_guid is None and caller.access != "system":
            raise BadInput("api_access=user cannot create root accounts", 403)
        if "accountresource" in fields and caller.access != "system":
            raise BadInput("only api_access=system may set accountresource", 403)
        fields.pop("parent", None)
        account = {
            "guid": new_guid(),
            "username": fields.pop("username"),
            "parent_guid": parent_guid,
            "password": fields.pop("password", None) or generated_password(),
            **ACCOUNT_DEFAULTS,
            "accountresource": {"api_access": None},
            "created": now_iso(),
        }
        account.update(fields)
        self.check_forwarding(account)
        self.accounts()[account["guid"]] = account
        return account

    def update_account(self, caller: Caller, account: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        self.refuse_reserved(account)
        parent = fields.pop("parent", None)
        if parent is not None:
            current = self.accounts()[account["parent_guid"]] if account["parent_guid"] else None
            if current is None or parent.lower() not in (current["guid"].lower(), current["username"].lower()):
                raise BadInput("parent cannot be changed")
        if "accountresource" in fields and caller.access != "system":
            raise BadInput("only api_access=system may set accountresource", 403)
        username = fields.get("username")
        if username and username.lower() != account["username"].lower():
            prefix = reserved_prefix(username)
            if prefix:
                raise BadInput(f"account names starting with {prefix} are reserved")
            if self.account_by_name(username):
                raise BadInput("username already exists", 409)
        merged = {**account, **fields}
        self.check_forwarding(merged)
        account.update(fields)
        return account

    @staticmethod
    def check_forwarding(account: dict[str, Any]) -> None:
        if account["cfna_active"] and not account["cfna_dest"]:
            raise BadInput("cfna_active needs a cfna_dest")

    @staticmethod
    def refuse_reserved(account: dict[str, Any]) -> None:
        if reserved_prefix(account["username"]):
            raise BadInput("reserved accounts cannot be changed through the API", 403)

    def refuse_reserved_path(self, caller: Caller, segments: list[str]) -> None:
        """A write addressed to a reserved account or to anything under it (403). Checked once for
        every write, so that no endpoint family can forget it; an account the caller cannot see is
        left to the endpoint, which answers 404 as for any other."""
        if len(segments) < 2 or segments[0].lower() != "account":
            return
        key = segments[1]
        account = self.accounts().get(key.upper()) if is_guid(key) else self.account_by_name(key)
        if account is not None and self.visible(caller, account["guid"]):
            self.refuse_reserved(account)

    # HydraAccount
    def hydra_get(self, request: Request, caller: Caller, number: str) -> Response:
        self.params(request, ())
        return hal([self.present_hydra(self.find_hydra(caller, number))])

    def hydra_put(self, request: Request, caller: Caller, number: str) -> Response:
        self.params(request, ("patch",))
        number_text("number", number)
        fields = clean(HYDRA_FIELDS, self.body(request, required=False))
        fields = {name: value for name, value in fields.items() if name != "note"}
        container = self.account_by_name(HYDRA_CONTAINER)
        if container is None or not self.visible(caller, container["guid"]):
            raise BadInput("HydraAccount needs access to the _tel account", 403)
        account = self.account_by_name(number)
        if account is not None:
            if account["parent_guid"] != container["guid"]:
                raise BadInput("username already exists", 409)
            self.update_account(caller, account, fields)
            return hal([self.present_hydra(account)])
        held = self.number_by_value(number)
        if held is not None and held["account_guid"] != self.pool()["guid"]:
            raise BadInput(f"number {number} is already assigned", 409)
        account = self.create_account(caller, {"username": number, **fields}, container["guid"])
        if held is not None:
            held.update({"account_guid": account["guid"], "is-pilot": True})
        else:
            guid = new_guid()
            self.state["numbers"][guid] = {
                "guid": guid,
                "account_guid": account["guid"],
                "number": number,
                "is-pilot": True,
                "cfa": "",
                "alert-info": "",
                "account-code": "",
                "from_pool": False,
                "seq": self.next_seq(),
            }
        return hal([self.present_hydra(account)], 201)

    def hydra_delete(self, request: Request, caller: Caller, number: str) -> Response:
        self.params(request, ())
        account = self.find_hydra(caller, number)
        record = self.present_hydra(account)
        self.delete_account(account)
        return hal([record])

    def find_hydra(self, caller: Caller, number: str) -> dict[str, Any]:
        account = self.account_by_name(number)
        container = self.account_by_name(HYDRA_CONTAINER)
        if account is None or container is None or account["parent_guid"] != container["guid"]:
            raise BadInput("hydraaccount not found", 404)
        if not self.visible(caller, account["guid"]):
            raise BadInput("hydraaccount not found", 404)
        return account

    def present_hydra(self, account: dict[str, Any]) -> dict[str, Any]:
        keys = ("password", "cfna_dest", "cfna_active", "ums_pin", "concurrent_limit", "private", "callerid")
        record = {"number": account["username"], "guid": account["guid"], "username": account["username"]}
        record.update({key: account[key] for key in keys})
        record["mailbox"] = account["ums_pin"] is not None
        record["_links"] = {
            "self": link(f"{API_ROOT}/hydraaccount/{account['username']}"),
            "parent": link(f"{API_ROOT}/"),
            "account": link(account_href(account["guid"])),
        }
        return record
