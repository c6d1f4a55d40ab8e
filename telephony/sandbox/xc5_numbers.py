"""XC5-XS account numbers and free-number allocation from `_unassigned.pool`.

Decisions where the seed is silent:
- A number string is unique system-wide ("a:6499…" is another string, as the OPTIONS text allows).
- A PUT naming an existing number (by value in the body, or by guid in the path) moves it to the
  account when it is free in `_unassigned.pool` or held by one of the account's ancestors (an
  environment's stock handed to one of its users); held by any other account it is refused (409).
- A number on an account is addressed by guid or by its digits.
- DELETE of a number that came from the pool puts it back there (flags cleared); a number that was
  created on an account is removed.
- The first number an account gets becomes its pilot; setting is-pilot on one clears the others.
- `numberallocate` lists free pool numbers whose links point under the asking account, so a PUT
  to the `self` link allocates that number (the seed's flow).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput
from telephony.sandbox.xc5_core import Caller, Xc5Core, hal, new_guid
from telephony.sandbox.xc5_schema import NUMBER_FIELDS, clean, is_guid, like

NUMBER_DEFAULTS = {"is-pilot": False, "cfa": "", "alert-info": "", "account-code": ""}


class NumberEndpoints(Xc5Core):
    """/account/<x>/number[/<guid or number>] and /account/<x>/numberallocate."""

    def number_list(self, request: Request, caller: Caller, key: str) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        return hal([self.present_sub("numbers", item) for item in self.owned("numbers", account["guid"])])

    def numberallocate_list(self, request: Request, caller: Caller, key: str) -> Response:
        pattern = self.params(request, ("filter",)).get("filter", "%")
        account = self.find_account(caller, key)
        free = [item for item in self.owned("numbers", self.pool()["guid"]) if like(pattern, item["number"])]
        return hal([self.present_sub("numbers", item, via_account=account["guid"]) for item in free])

    def number_create(self, request: Request, caller: Caller, key: str) -> Response:
        self.params(request, ("patch",))
        account = self.find_account(caller, key)
        fields = clean(NUMBER_FIELDS, self.body(request))
        if "number" not in fields:
            raise BadInput("number is required")
        existing = self.number_by_value(fields["number"])
        if existing is None:
            return hal([self.present_sub("numbers", self.add_number(account, fields))], 201)
        if existing["account_guid"] != account["guid"]:
            self.take_number(account, existing)
        return hal([self.present_sub("numbers", self.update_number(account, existing, fields))])

    def number_get(self, request: Request, caller: Caller, key: str, item: str) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        return hal([self.present_sub("numbers", self.own_number(account, item))])

    def number_put(self, request: Request, caller: Caller, key: str, item: str) -> Response:
        patch_only = self.flag(self.params(request, ("patch",)), "patch")
        account = self.find_account(caller, key)
        fields = clean(NUMBER_FIELDS, self.body(request, required=False))
        if patch_only:
            return hal(
                [self.present_sub("numbers", self.update_number(account, self.own_number(account, item), fields))]
            )
        existing = self.locate_number(item)
        if existing is None:
            if not is_guid(item):
                raise BadInput("number not found", 404)
            if "number" not in fields:
                raise BadInput("number is required")
            if self.number_by_value(fields["number"]):
                raise BadInput(f"number {fields['number']} already exists", 409)
            return hal([self.present_sub("numbers", self.add_number(account, fields, guid=item.upper()))], 201)
        if existing["account_guid"] != account["guid"]:
            self.take_number(account, existing)
        return hal([self.present_sub("numbers", self.update_number(account, existing, fields))])

    def number_patch(self, request: Request, caller: Caller, key: str, item: str) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        fields = clean(NUMBER_FIELDS, self.body(request))
        return hal([self.present_sub("numbers", self.update_number(account, self.own_number(account, item), fields))])

    def number_delete(self, request: Request, caller: Caller, key: str, item: str) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        number = self.own_number(account, item)
        record = self.present_sub("numbers", number)
        self.release_number(number)
        return hal([record])

    # the rules
    def locate_number(self, item: str) -> dict[str, Any] | None:
        if is_guid(item):
            return self.state["numbers"].get(item.upper())
        return self.number_by_value(item)

    def own_number(self, account: dict[str, Any], item: str) -> dict[str, Any]:
        number = self.locate_number(item)
        if number is None or number["account_guid"] != account["guid"]:
            raise BadInput("number not found", 404)
        return number

    def take_number(self, account: dict[str, Any], number: dict[str, Any]) -> None:
        holder = number["account_guid"]
        if holder != self.pool()["guid"] and holder not in self.ancestors(account["guid"]):
            raise BadInput(
                f"number {number['number']} is already assigned to {self.accounts()[holder]['username']}", 409
            )
        had_numbers = bool(self.owned("numbers", account["guid"]))
        number.update({**NUMBER_DEFAULTS, "account_guid": account["guid"], "is-pilot": not had_numbers})

    def add_number(self, account: dict[str, Any], fields: dict[str, Any], guid: str | None = None) -> dict[str, Any]:
        is_pool = account["guid"] == self.pool()["guid"]
        number = {
            "guid": guid or new_guid(),
            "account_guid": account["guid"],
            "number": fields["number"],
            **NUMBER_DEFAULTS,
            "is-pilot": not is_pool and not self.owned("numbers", account["guid"]),
            "from_pool": is_pool,  # stocking the pool: such numbers go back there when released
            "seq": self.next_seq(),
        }
        self.state["numbers"][number["guid"]] = number
        return self.update_number(account, number, {k: v for k, v in fields.items() if k != "number"})

    def update_number(self, account: dict[str, Any], number: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        new_value = fields.get("number")
        if new_value and new_value != number["number"] and self.number_by_value(new_value):
            raise BadInput(f"number {new_value} already exists", 409)
        number.update(fields)
        if fields.get("is-pilot"):
            for other in self.owned("numbers", account["guid"]):
                if other["guid"] != number["guid"]:
                    other["is-pilot"] = False
        return number
