"""PATCH `<collection>/<oid>` for the Xelion sandbox: JSON-Patch-like operations on one object.

The body is `{"operations": [...]}` or, as one place of the public guide shows, a bare array.
Attributes change with `replace /<attribute>` (and `replace /userPhoneLine/<attribute>` on a
phoneline). Lists grow with `add /<list>/<n>`, where `n` is a virtual index the client chooses;
later operations of the same PATCH may address the new entry by it
(`add /assignedNumbers/1/orderNumber`). `remove /<list>/<oid>` names the entry's own oid. A PATCH
applies all its operations or none.
"""

from __future__ import annotations

import copy
from typing import Any

from telephony.sandbox.xelion_objects import TenantObjects
from telephony.sandbox.xelion_schema import (
    PERSON_SCALARS,
    PHONELINE_SCALARS,
    TRUNK_SCALARS,
    USER_PHONE_LINE_FIELDS,
    USER_SCALARS,
    USERGROUP_SCALARS,
    XCC_ROLES,
    XelionError,
    check_oid,
    check_value,
    invalid,
    not_found,
)

SCALARS: dict[str, dict[str, type]] = {
    "Person": PERSON_SCALARS,
    "UserProfile": USER_SCALARS,
    "XCCPhoneLine": PHONELINE_SCALARS,
    "XCCTrunk": TRUNK_SCALARS,
    "UserGroup": USERGROUP_SCALARS,
}
LISTS: dict[str, tuple[str, ...]] = {
    "Person": ("addresses",),
    "XCCPhoneLine": ("users", "extensions"),
    "XCCTrunk": ("assignedNumbers",),
    "UserGroup": ("members",),
}
OPS = ("add", "remove", "replace")


def parse_operations(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        if set(body) != {"operations"}:
            raise invalid('a PATCH body is {"operations": [...]}')
        body = body["operations"]
    if not isinstance(body, list):
        raise invalid("operations must be a list")
    if not body:
        raise XelionError(400, 10200, "no operations")
    for operation in body:
        if not isinstance(operation, dict) or operation.get("op") not in OPS:
            raise invalid(f"each operation needs op {', '.join(OPS)}")
        if not isinstance(operation.get("path"), str) or not operation["path"].startswith("/"):
            raise invalid("each operation needs a path starting with /")
        if operation["op"] != "remove" and "value" not in operation:
            raise invalid(f"{operation['op']} {operation['path']} needs a value")
    return body


def apply_patch(objs: TenantObjects, obj: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    """Apply every operation to `obj` in place, or restore it and raise on the first refusal."""
    before = copy.deepcopy(obj)
    try:
        _Patch(objs, obj).run(operations)
    except XelionError:
        obj.clear()
        obj.update(before)
        raise


class _Patch:
    """One PATCH request: its object, and the entries its `add` operations created by index."""

    def __init__(self, objs: TenantObjects, obj: dict[str, Any]):
        self.objs = objs
        self.obj = obj
        self.kind = obj["objectType"]
        self.added: dict[tuple[str, str], dict[str, Any]] = {}
        self.names_replaced = False

    def run(self, operations: list[dict[str, Any]]) -> None:
        for operation in operations:
            segments = operation["path"].strip("/").split("/")
            op, value = operation["op"], operation.get("value")
            if segments[-1] in ("oid", "objectType"):  # the server's: what an object is and how it is named
                raise XelionError(400, 10203, f"{operation['path']} is read-only")
            if len(segments) == 1 and op == "replace" and segments[0] in SCALARS.get(self.kind, {}):
                self.replace(segments[0], value)
            elif (
                self.kind == "XCCPhoneLine"
                and segments[0] == "userPhoneLine"
                and len(segments) == 2
                and op == "replace"
            ):
                self.replace_user_phone_line(segments[1], value)
            elif segments[0] in LISTS.get(self.kind, ()) and len(segments) in (2, 3):
                self.list_operation(op, segments, value)
            else:
                raise invalid(f"invalid path {op} {operation['path']} for {self.kind}")
        if self.kind == "Person" and not self.names_replaced:
            # the common name follows the parts unless the same PATCH set it
            self.obj["commonName"] = " ".join(p for p in (self.obj["givenName"], self.obj["familyName"]) if p)
        if self.kind == "UserProfile":
            self.objs.check_licence()

    def replace(self, name: str, value: Any) -> None:
        check_value(name, value, SCALARS[self.kind][name])
        if self.kind == "UserProfile" and name == "userName":
            value = value.strip()
            if not value:
                raise XelionError(500, 11000, "userName is empty")
            clash = self.objs.user_named(value)
            if clash is not None and clash["oid"] != self.obj["oid"]:
                raise XelionError(500, 11000, f"userName {value!r} already exists")
        if self.kind == "UserProfile" and name == "xccRole" and value not in XCC_ROLES:
            raise invalid(f"xccRole must be one of {', '.join(XCC_ROLES)}")
        if self.kind == "UserProfile" and name == "password":
            self.obj["_password"] = value
            return
        if self.kind == "XCCPhoneLine" and name == "commonName":
            value = self.objs.unique_line_name(value.strip() or "Phoneline", own_oid=self.obj["oid"])
        if self.kind == "UserGroup" and name == "commonName":
            clash = [g for g in self.objs.of_type("UserGroup") if g["commonName"].lower() == value.strip().lower()]
            if any(g["oid"] != self.obj["oid"] for g in clash) or not value.strip():
                raise XelionError(500, 11000, f"a user group named {value!r} already exists")
        if self.kind == "Person" and name == "commonName":
            self.names_replaced = True
        self.obj[name] = value
        if self.kind == "UserProfile" and name == "userName":
            self.objs.index.hint_user(self.obj)

    def replace_user_phone_line(self, name: str, value: Any) -> None:
        if name not in USER_PHONE_LINE_FIELDS:
            raise invalid(f"XCCUserPhoneLine has no attribute {name}")
        check_value(name, value, type(USER_PHONE_LINE_FIELDS[name]))
        if name == "redirection" and value and not value.lstrip("+").isdigit():
            raise invalid(f"redirection {value!r} is not a telephone number")
        self.obj["userPhoneLine"][name] = value

    def entry(self, list_name: str, key: str) -> dict[str, Any]:
        """An entry by the virtual index of this PATCH's add, or by its own oid."""
        if (list_name, key) in self.added:
            return self.added[list_name, key]
        found = next((item for item in self.obj[list_name] if item["oid"] == key), None)
        if found is None:
            raise not_found(f"{list_name} entry {key}")
        return found

    def list_operation(self, op: str, segments: list[str], value: Any) -> None:
        list_name, key = segments[0], segments[1]
        if len(segments) == 3:
            self.entry_attribute(op, list_name, key, segments[2], value)
        elif op == "add":
            if not key.isdigit():
                raise invalid(f"add /{list_name}/<n> needs a numeric index, not {key!r}")
            self.added[list_name, key] = self.add(list_name, value)
        elif op == "remove":
            entry = self.entry(list_name, check_oid(key))
            self.obj[list_name].remove(entry)
        else:
            raise invalid(f"replace /{list_name}/{key}: change a list with add and remove")

    def add(self, list_name: str, value: Any) -> dict[str, Any]:
        if list_name == "users":
            return self.objs.connect_user(self.obj, self.objs.require(value, "UserProfile"))
        if list_name == "members":
            user = self.objs.require(value, "UserProfile")
            if any(rel["user"] == user["oid"] for rel in self.obj["members"]):
                raise invalid(f"user {user['userName']!r} is already a member of {self.obj['commonName']!r}")
            member = {"user": user["oid"], "oid": self.objs.new_oid(), "objectType": "XCCUserGroupMember"}
            self.obj["members"].append(member)
            return member
        if list_name == "extensions":
            return self.objs.add_line_address(self.obj, value)
        if list_name == "assignedNumbers":
            return self.objs.add_trunk_number(self.obj, value)
        address = self.objs.telecom_address(value, len(self.obj["addresses"]) + 1, phone_only=False)
        self.obj["addresses"].append(address)
        return address

    def entry_attribute(self, op: str, list_name: str, key: str, name: str, value: Any) -> None:
        if op == "remove":
            raise invalid(f"remove /{list_name}/{key}/{name}: attributes are changed with replace")
        entry = self.entry(list_name, key)
        allowed = {
            "assignedNumbers": {"orderNumber": int, "useAsCallerId": bool},
            "users": {"incoming": bool, "outgoing": bool},
        }
        kind = allowed.get(list_name, {}).get(name)
        if kind is None:
            raise invalid(f"invalid path /{list_name}/{key}/{name}")
        entry[name] = check_value(name, value, kind)
