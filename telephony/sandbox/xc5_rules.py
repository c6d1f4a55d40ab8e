"""XC5-XS call handling objects under an account (routes, callrules, forks, prompts), registrations,
`/api-sys/guid` and `/api-sys/location`.

Decisions where the seed is silent:
- Routes are one per (order, menu_level) on an account: a PUT to the collection at an existing pair
  updates that route (the seed re-PUTs order 200 "to improve" it). Callrules are always added ("multiple
  conditional call rules can exist at the same order"), so a client that PUTs the same rule twice
  gets two. Forks are one per destination.
- `PUT …/<kind>/<guid>` creates with a client-chosen guid (from `GET /api-sys/guid`) when it does not
  exist; `PATCH` and `PUT ?patch=true` only update.
- A route needs a destination, username or digit_map; hunt_user needs a username; a callrule needs
  a destination, username or record_email. Usernames must name an account the caller can reach,
  locations one of /api-sys/location, promptguid a prompt of a reachable account or of `_prompts…`.
- Prompts are created from JSON ({"description"}) with a `group_access` code `*22NNNNN` to record
  them from a phone (the first is *2200101, as in the seed), or uploaded as form data (a file part),
  which gives no code: `prompt_length` is the WAV's duration, or the size at 8000 bytes a second
  for raw G.711.
- Registrations are read-only and always empty (the sandbox has no SIP side).
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput
from telephony.sandbox.xc5_core import API_ROOT, Caller, Xc5Core, hal, link, new_guid
from telephony.sandbox.xc5_schema import (
    CALLRULE_FIELDS,
    FORK_FIELDS,
    PROMPT_FIELDS,
    ROUTE_FIELDS,
    Field,
    clean,
    is_guid,
    like,
)


@dataclass(frozen=True)
class Kind:
    """One kind of object kept under an account."""

    collection: str
    fields: dict[str, Field]
    defaults: dict[str, Any]
    required: tuple[str, ...] = ()
    upsert_key: Callable[[dict[str, Any]], Any] | None = None


KINDS: dict[str, Kind] = {
    "route": Kind(
        "routes",
        ROUTE_FIELDS,
        {
            "order": 0,
            "destination": "",
            "username": None,
            "hunt_user": False,
            "ring_seconds": None,
            "menu_level": 0,
            "digit_map": "",
            "time_definition": "",
            "promptguid": None,
        },
        required=("order",),
        upsert_key=lambda item: (item["order"], item["menu_level"]),
    ),
    "callrule": Kind(
        "callrules",
        CALLRULE_FIELDS,
        {
            "order": 0,
            "prefix": "",
            "prefix_raw": "",
            "location": "",
            "username": None,
            "destination": "",
            "early_rule": False,
            "record_email": "",
        },
        required=("order",),
    ),
    "fork": Kind(
        "forks",
        FORK_FIELDS,
        {"destination": "", "ring_seconds": None},
        required=("destination",),
        upsert_key=lambda item: item["destination"],
    ),
    "prompt": Kind("prompts", PROMPT_FIELDS, {"description": "", "prompt_length": 0, "group_access": ""}),
}


class RuleEndpoints(Xc5Core):
    """/account/<x>/{route,callrule,fork,prompt}[/<guid>], /account/<x>/reg, /guid and /location."""

    def sub_list(self, request: Request, caller: Caller, key: str, kind: Kind) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        return hal([self.present_sub(kind.collection, item) for item in self.owned(kind.collection, account["guid"])])

    def sub_get(self, request: Request, caller: Caller, key: str, item: str, kind: Kind) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        return hal([self.present_sub(kind.collection, self.own_item(kind, account, item))])

    def sub_create(self, request: Request, caller: Caller, key: str, kind: Kind) -> Response:
        self.params(request, ("patch",))
        account = self.find_account(caller, key)
        fields = self.sub_fields(request, kind)
        if kind.upsert_key is not None:
            probe = {**kind.defaults, **fields}
            same = [
                it
                for it in self.owned(kind.collection, account["guid"])
                if kind.upsert_key(it) == kind.upsert_key(probe)
            ]
            if same:
                return hal([self.present_sub(kind.collection, self.save_item(caller, kind, same[0], fields))])
        return hal([self.present_sub(kind.collection, self.new_item(caller, kind, account, fields))], 201)

    def sub_put(self, request: Request, caller: Caller, key: str, item: str, kind: Kind) -> Response:
        patch_only = self.flag(self.params(request, ("patch",)), "patch")
        account = self.find_account(caller, key)
        fields = self.sub_fields(request, kind)
        existing = self.state[kind.collection].get(item.upper())
        if existing is None and not patch_only:
            if not is_guid(item):
                raise BadInput("guid is not valid", 400)
            return hal(
                [self.present_sub(kind.collection, self.new_item(caller, kind, account, fields, item.upper()))], 201
            )
        found = self.own_item(kind, account, item)
        return hal([self.present_sub(kind.collection, self.save_item(caller, kind, found, fields))])

    def sub_patch(self, request: Request, caller: Caller, key: str, item: str, kind: Kind) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        found = self.own_item(kind, account, item)
        return hal(
            [self.present_sub(kind.collection, self.save_item(caller, kind, found, self.sub_fields(request, kind)))]
        )

    def sub_delete(self, request: Request, caller: Caller, key: str, item: str, kind: Kind) -> Response:
        self.params(request, ())
        account = self.find_account(caller, key)
        found = self.own_item(kind, account, item)
        record = self.present_sub(kind.collection, found)
        del self.state[kind.collection][found["guid"]]
        return hal([record])

    def reg_list(self, request: Request, caller: Caller, key: str) -> Response:
        self.params(request, ())
        self.find_account(caller, key)
        return hal([])

    def guid_get(self, request: Request, caller: Caller) -> Response:
        self.params(request, ())
        return hal([{"guid": new_guid(), "_links": {"self": link(f"{API_ROOT}/guid"), "parent": link(f"{API_ROOT}/")}}])

    def location_list(self, request: Request, caller: Caller) -> Response:
        pattern = self.params(request, ("filter",)).get("filter", "%")
        found = [loc for loc in self.state["locations"].values() if like(pattern, loc["name"])]
        return hal([self.present_location(loc) for loc in sorted(found, key=lambda loc: loc["name"])])

    def location_get(self, request: Request, caller: Caller, item: str) -> Response:
        self.params(request, ())
        return hal([self.present_location(self.find_location(item))])

    # the rules
    def sub_fields(self, request: Request, kind: Kind) -> dict[str, Any]:
        if kind.collection == "prompts" and request.mimetype == "multipart/form-data":
            return self.prompt_upload(request)
        return clean(kind.fields, self.body(request))

    @staticmethod
    def prompt_upload(request: Request) -> dict[str, Any]:
        files = list(request.files.values())
        if len(files) != 1:
            raise BadInput("upload exactly one prompt file")
        unknown = set(request.form) - {"description"}
        if unknown:
            raise BadInput(f"unknown field: {sorted(unknown)[0]}")
        audio = files[0].read()
        if not audio:
            raise BadInput("the prompt file is empty")
        try:
            with wave.open(io.BytesIO(audio)) as recording:
                length = recording.getnframes() / recording.getframerate()
        except (wave.Error, EOFError):
            length = len(audio) / 8000  # raw G.711: 8000 one-byte samples a second
        fields: dict[str, Any] = {"prompt_length": round(length, 1)}
        if "description" in request.form:
            fields["description"] = PROMPT_FIELDS["description"].check("description", request.form["description"])
        return fields

    def own_item(self, kind: Kind, account: dict[str, Any], item: str) -> dict[str, Any]:
        found = self.state[kind.collection].get(item.upper())
        if found is None or found["account_guid"] != account["guid"]:
            raise BadInput(f"{kind.collection[:-1]} not found", 404)
        return found

    def new_item(
        self, caller: Caller, kind: Kind, account: dict[str, Any], fields: dict[str, Any], guid: str | None = None
    ) -> dict[str, Any]:
        missing = [name for name in kind.required if name not in fields]
        if missing:
            raise BadInput(f"{missing[0]} is required")
        if guid and guid in self.state[kind.collection]:
            raise BadInput("guid already in use", 409)
        item = {"guid": guid or new_guid(), "account_guid": account["guid"], **kind.defaults, "seq": self.next_seq()}
        if kind.collection == "prompts" and "prompt_length" not in fields:  # nothing uploaded: record by phone
            counters = self.state.setdefault("_counters", {})
            counters["group_access"] = counters.get("group_access", 100) + 1
            item["group_access"] = f"*22{counters['group_access']:05d}"
        self.check_item(caller, kind, {**item, **fields})
        item.update(fields)
        self.state[kind.collection][item["guid"]] = item
        return item

    def save_item(self, caller: Caller, kind: Kind, item: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        merged = {**item, **fields}
        key = kind.upsert_key
        moved = key is not None and key(merged) != key(item)
        if moved and any(key(other) == key(merged) for other in self.owned(kind.collection, item["account_guid"])):
            raise BadInput(f"another {kind.collection[:-1]} already has these values", 409)
        self.check_item(caller, kind, merged)
        item.update(fields)
        return item

    def check_item(self, caller: Caller, kind: Kind, item: dict[str, Any]) -> None:
        username = item.get("username")
        if username:
            target = self.account_by_name(username)
            if target is None or not self.visible(caller, target["guid"]):
                raise BadInput(f"unknown account: {username}")
        if kind.collection == "routes":
            if not (item["destination"] or item["username"] or item["digit_map"]):
                raise BadInput("a route needs a destination, username or digit_map")
            if item["hunt_user"] and not item["username"]:
                raise BadInput("hunt_user needs a username")
            if item["promptguid"]:
                self.check_prompt(caller, item["promptguid"])
        elif kind.collection == "callrules":
            if not (item["destination"] or item["username"] or item["record_email"]):
                raise BadInput("a callrule needs a destination, username or record_email")
            if item["location"] and not self.location_by_name(item["location"]):
                raise BadInput(f"unknown location: {item['location']}")
        elif kind.collection == "forks" and not item["destination"]:
            raise BadInput("destination is required")

    def check_prompt(self, caller: Caller, guid: str) -> None:
        prompt = self.state["prompts"].get(guid.upper())
        owner = self.accounts().get(prompt["account_guid"]) if prompt else None
        if owner is None or not (owner["username"].startswith("_prompts") or self.visible(caller, owner["guid"])):
            raise BadInput(f"unknown prompt: {guid}")

    def location_by_name(self, name: str) -> dict[str, Any] | None:
        return next((loc for loc in self.state["locations"].values() if loc["name"] == name), None)

    def find_location(self, item: str) -> dict[str, Any]:
        found = self.state["locations"].get(item.upper()) if is_guid(item) else self.location_by_name(item)
        if found is None:
            raise BadInput("location not found", 404)
        return found

    @staticmethod
    def present_location(location: dict[str, Any]) -> dict[str, Any]:
        return {
            **location,
            "_links": {"self": link(f"{API_ROOT}/location/{location['guid']}"), "parent": link(f"{API_ROOT}/location")},
        }
