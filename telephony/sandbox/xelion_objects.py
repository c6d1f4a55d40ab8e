"""Xelion tenant objects as the sandbox stores and renders them (seed: xelion-getting-started.txt).

A tenant keeps its objects in one flat dict `oid -> object`. Stored objects refer to each other by
oid (`person`, `primaryLine`, `user` of a line relation …) and carry internal fields that start
with `_` (a user's password); `render` expands the references the way the seed's answers show them
and drops the internal fields.

Decisions where the documents are silent:

- A whole name in `commonName` or `familyName` (with no `givenName`) is split at the first space:
  "Mark van Dam" -> givenName "Mark", familyName "van Dam" (the seed's answer shows familyName
  "Mark", which reads as a typo in the document).
- A Person may carry `addresses`, TelecomAddress objects with addressType Telephone, Mobile or
  Email (the sandbox's place for a user's e-mail address).
- Departments are `usergroups` of objectType `UserGroup` with `commonName`, `description` and
  `members` (XCCUserGroupMember relations to UserProfiles).
- Every phoneline has a `userPhoneLine` (XCCUserPhoneLine) sub-object: the seed patches
  `/userPhoneLine/redirection` on a line it created itself. A redirection with
  `redirectionTimeout` 0 is immediate; with a timeout it happens when nobody answers in time.
- Addresses on phonelines (internal numbers and routed external numbers) are unique in a tenant;
  so are numbers on trunks, `userName`s and user group names. A phoneline's `commonName` is made
  unique with " (2)", " (3)" … as the seed's answer shows ("Sales (2)").
- Payloads with attributes the object type does not have are refused (400/10202), so a misspelt
  field name in a client shows up at once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from telephony.sandbox.xelion_schema import (
    ADDRESS_TYPES,
    PERMISSIONS,
    PERSON_SCALARS,
    PHONE_ADDRESS,
    PHONELINE_FLAGS,
    PHONELINE_SCALARS,
    TRUNK_LISTS,
    TRUNK_SCALARS,
    USER_PHONE_LINE_FIELDS,
    USER_SCALARS,
    USERGROUP_SCALARS,
    XCC_ROLES,
    XelionError,
    check_attributes,
    check_oid,
    check_value,
    invalid,
    not_found,
    split_name,
)


class TypeIndex:
    """A tenant's objects by type, and where to look first for the holder of a unique key (a user
    name, a Person's user, a line's address), kept by the simulator across requests: a look-up then
    reads one object, or walks one type, not every object of the tenant (a 10,000-user tenant holds
    some 50,000). Each type keeps the order in which its objects were stored, as the flat dict does.

    A key's hint is written whenever an object takes that key, and is checked against the object
    when read: a hint left behind by a rename or a removal finds nothing, never a wrong holder."""

    def __init__(self, objects: dict[str, dict[str, Any]]):
        self.objects = objects
        self.by_type: dict[str, dict[str, dict[str, Any]]] = {}
        self.hints: dict[tuple[str, str], str] = {}
        # the lines each user was ever connected to (a line read checks that it still is)
        self.connections: dict[str, list[str]] = {}
        for obj in objects.values():
            self.by_type.setdefault(obj["objectType"], {})[obj["oid"]] = obj
            if obj["objectType"] == "UserProfile":
                self.hint_user(obj)
            if obj["objectType"] == "XCCPhoneLine":
                for extension in obj["extensions"]:
                    self.hint("address", extension["address"], obj)
                for relation in obj["users"]:
                    self.connections.setdefault(relation["user"], []).append(obj["oid"])

    def store(self, obj: dict[str, Any]) -> None:
        self.objects[obj["oid"]] = obj
        self.by_type.setdefault(obj["objectType"], {})[obj["oid"]] = obj

    def remove(self, oid: str) -> None:
        obj = self.objects.pop(oid, None)
        if obj is not None:
            self.by_type.get(obj["objectType"], {}).pop(oid, None)

    def hint(self, key: str, value: str, obj: dict[str, Any]) -> None:
        self.hints[key, value] = obj["oid"]

    def hint_user(self, user: dict[str, Any]) -> None:
        """A user's unique keys: its name (in any case) and its Person."""
        self.hint("userName", user["userName"].lower(), user)
        self.hint("person", user["person"], user)

    def connect(self, user: dict[str, Any], line: dict[str, Any]) -> None:
        self.connections.setdefault(user["oid"], []).append(line["oid"])

    def hinted(self, key: str, value: str, holds: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        obj = self.objects.get(self.hints.get((key, value), ""))
        return obj if obj is not None and holds(obj) else None


class TenantObjects:
    """A view over one tenant's stored objects: creation rules, look-ups and rendering."""

    def __init__(self, tenant: dict[str, Any], new_oid: Callable[[], str], index: TypeIndex | None = None):
        self.tenant = tenant
        self.objects: dict[str, dict[str, Any]] = tenant["objects"]
        self.index = index if index is not None and index.objects is self.objects else TypeIndex(self.objects)
        self.new_oid = new_oid

    # look-ups
    def get(self, oid: str, object_type: str | None = None) -> dict[str, Any] | None:
        obj = self.objects.get(oid)
        if obj is None or (object_type and obj["objectType"] != object_type):
            return None
        return obj

    def require(self, oid: Any, object_type: str) -> dict[str, Any]:
        obj = self.get(check_oid(oid), object_type)
        if obj is None:
            raise not_found(f"{object_type} {oid}")
        return obj

    def of_type(self, object_type: str) -> list[dict[str, Any]]:
        return list(self.index.by_type.get(object_type, {}).values())

    def line_relations(self, user_oid: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(phoneline, connection) of every line the user is connected to, in the order the lines
        were made."""
        lines = (self.get(oid, "XCCPhoneLine") for oid in set(self.index.connections.get(user_oid, ())))
        found = sorted((line for line in lines if line is not None), key=lambda line: (len(line["oid"]), line["oid"]))
        return [(line, rel) for line in found for rel in line["users"] if rel["user"] == user_oid]

    def user_of_person(self, person_oid: str) -> dict[str, Any] | None:
        return self.index.hinted(
            "person", person_oid, lambda user: user["objectType"] == "UserProfile" and user["person"] == person_oid
        )

    def user_named(self, user_name: str) -> dict[str, Any] | None:
        """The user of that name, in any case (Xelion's user names are unique regardless of case)."""
        folded = user_name.lower()
        return self.index.hinted(
            "userName", folded, lambda user: user["objectType"] == "UserProfile" and user["userName"].lower() == folded
        )

    def licensed_users(self) -> int:
        return sum(1 for user in self.of_type("UserProfile") if user["userLicense"])

    def check_licence(self) -> None:
        licences = int(self.tenant["licenses"])
        if len(self.index.by_type.get("UserProfile", {})) <= licences:
            return  # fewer users than licences: no need to count the licensed ones
        if self.licensed_users() > licences:
            raise XelionError(403, 10101, f"no licence left: the tenant has {self.tenant['licenses']} user licences")

    def address_owner(self, address: str) -> dict[str, Any] | None:
        def holds(line: dict[str, Any]) -> bool:
            return line["objectType"] == "XCCPhoneLine" and any(e["address"] == address for e in line["extensions"])

        return self.index.hinted("address", address, holds)

    def trunk_number_owner(self, address: str) -> dict[str, Any] | None:
        for trunk in self.of_type("XCCTrunk"):
            if any(num["extension"]["address"] == address for num in trunk["assignedNumbers"]):
                return trunk
        return None

    # building blocks
    def telecom_address(self, value: Any, order: int, *, phone_only: bool = True) -> dict[str, Any]:
        if isinstance(value, str):
            value = {"address": value}
        if not isinstance(value, dict) or not isinstance(value.get("address"), str):
            raise invalid("an address needs an 'address' string")
        check_attributes(value, {"address", "addressType", "label", "orderNumber"}, "TelecomAddress")
        address_type = value.get("addressType", "Telephone")
        if address_type not in ADDRESS_TYPES or (phone_only and address_type == "Email"):
            raise invalid(f"addressType {address_type!r} is not allowed here")
        address = value["address"].strip()
        if address_type != "Email" and not PHONE_ADDRESS.match(address):
            raise invalid(f"{address!r} is not a telephone number")
        if address_type == "Email" and "@" not in address:
            raise invalid(f"{address!r} is not an e-mail address")
        return {
            "commonName": address,
            "addressType": address_type,
            "address": address,
            "label": value.get("label", ""),
            "orderNumber": order,
            "oid": self.new_oid(),
            "objectType": "TelecomAddress",
        }

    def add_line_address(self, line: dict[str, Any], value: Any) -> dict[str, Any]:
        entry = self.telecom_address(value, len(line["extensions"]) + 1)
        owner = self.address_owner(entry["address"])
        if owner is not None:
            raise invalid(f"address {entry['address']} is already used by phoneline {owner['commonName']!r}")
        line["extensions"].append(entry)
        self.index.hint("address", entry["address"], line)
        return entry

    def add_trunk_number(self, trunk: dict[str, Any], value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            value = {"extension": {"address": value}}
        if not isinstance(value, dict) or not isinstance(value.get("extension"), dict):
            raise invalid("an assigned number needs an 'extension' with an 'address'")
        check_attributes(value, {"extension", "useAsCallerId", "orderNumber"}, "XCCTrunkExtension")
        extension = self.telecom_address(value["extension"], 0)
        if self.trunk_number_owner(extension["address"]) is not None:
            raise invalid(f"number {extension['address']} is already assigned to a trunk")
        entry = {
            "extension": extension,
            "useAsCallerId": check_value("useAsCallerId", value.get("useAsCallerId", False), bool),
            "orderNumber": check_value("orderNumber", value.get("orderNumber", len(trunk["assignedNumbers"]) + 1), int),
            "oid": self.new_oid(),
            "objectType": "XCCTrunkExtension",
        }
        trunk["assignedNumbers"].append(entry)
        return entry

    def unique_line_name(self, wanted: str, own_oid: str = "") -> str:
        taken = {line["commonName"] for line in self.of_type("XCCPhoneLine") if line["oid"] != own_oid}
        name, counter = wanted, 1
        while name in taken:
            counter += 1
            name = f"{wanted} ({counter})"
        return name

    # creation
    def create_person(self, body: dict[str, Any]) -> dict[str, Any]:
        check_attributes(body, set(PERSON_SCALARS) | {"addresses"}, "Person")
        for key in PERSON_SCALARS:
            if key in body:
                check_value(key, body[key], str)
        given, family = body.get("givenName", "").strip(), body.get("familyName", "").strip()
        if not given and (family or body.get("commonName", "").strip()):
            given, family = split_name(family or body["commonName"])
        if not (given or family):
            raise invalid("a Person needs a name: commonName, givenName or familyName")
        person = {
            "initials": body.get("initials") or (f"{given[0]}." if given else ""),
            "givenName": given,
            "familyName": family,
            "communicationLanguage": body.get("communicationLanguage", "natDutch"),
            "addresses": [],
            "permissions": PERMISSIONS,
            "commonName": body.get("commonName", "").strip() or " ".join(p for p in (given, family) if p),
            "accessRights": "readWrite",
            "oid": self.new_oid(),
            "objectType": "Person",
        }
        for value in check_value("addresses", body.get("addresses", []), list):
            person["addresses"].append(self.telecom_address(value, len(person["addresses"]) + 1, phone_only=False))
        self.index.store(person)
        return person

    def create_phoneline(self, body: dict[str, Any], *, user_line: bool = False) -> dict[str, Any]:
        check_attributes(body, set(PHONELINE_SCALARS) | {"extensions", "users", "userPhoneLine"}, "XCCPhoneLine")
        for key, kind in PHONELINE_SCALARS.items():
            if key in body:
                check_value(key, body[key], kind)
        if body.get("users"):
            raise invalid("users are added to a phoneline with PATCH add /users/<n>")
        line = copy.deepcopy(PHONELINE_FLAGS)
        line.update({key: body[key] for key in PHONELINE_SCALARS if key in body and key != "commonName"})
        wanted = body.get("commonName", "").strip() or body.get("callerName", "").strip() or "Phoneline"
        line.update(
            {
                "externalNumber": body.get("externalNumber", ""),
                "callerName": body.get("callerName", ""),
                "extensions": [],
                "users": [],
                "associatedAddressable": None,
                "userPhoneLine": {
                    **USER_PHONE_LINE_FIELDS,
                    "permissions": PERMISSIONS,
                    "commonName": "",
                    "oid": self.new_oid(),
                    "objectType": "XCCUserPhoneLine",
                },
                "callLogUsers": [],
                "permissions": PERMISSIONS,
                "commonName": wanted if user_line else self.unique_line_name(wanted),
                "oid": self.new_oid(),
                "objectType": "XCCPhoneLine",
            }
        )
        self.index.store(line)
        try:
            for value in check_value("extensions", body.get("extensions", []), list):
                self.add_line_address(line, value)
        except XelionError:
            self.index.remove(line["oid"])
            raise
        return line

    def connect_user(self, line: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        if any(rel["user"] == user["oid"] for rel in line["users"]):
            raise invalid(f"user {user['userName']!r} is already connected to phoneline {line['commonName']!r}")
        relation = {
            "user": user["oid"],
            "lineOrder": len(line["users"]) + 1,
            "skillNumber": 0,
            "incoming": True,
            "outgoing": True,
            "editable": "OUTGOING",
            "oid": self.new_oid(),
            "objectType": "XCCConnectedUser",
        }
        line["users"].append(relation)
        self.index.connect(user, line)
        return relation

    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        check_attributes(body, set(USER_SCALARS) | {"person", "locale"}, "UserProfile")
        for key, kind in USER_SCALARS.items():
            if key in body:
                check_value(key, body[key], kind)
        user_name = body.get("userName", "").strip()
        if not user_name:
            raise XelionError(500, 11000, "userName is empty")
        if self.user_named(user_name) is not None:
            raise XelionError(500, 11000, f"userName {user_name!r} already exists")
        person_ref = body.get("person")
        if not isinstance(person_ref, dict) or person_ref.get("objectType") != "Person":
            raise XelionError(400, 10203, "person must be {oid, objectType: Person}")
        person = self.require(person_ref.get("oid"), "Person")
        if self.user_of_person(person["oid"]) is not None:
            raise XelionError(500, 11000, f"Person {person['oid']} is already linked to a user")
        role = body.get("xccRole", "user")
        if role not in XCC_ROLES:
            raise invalid(f"xccRole must be one of {', '.join(XCC_ROLES)}")
        common_name = body.get("commonName", "").strip() or person["commonName"]
        user = {
            "userName": user_name,
            "active": body.get("active", True),
            "xccRole": role,
            "primaryLine": None,
            "person": person["oid"],
            "locale": {
                "permissions": PERMISSIONS,
                "commonName": "Nederlands",
                "oid": "1001310",
                "objectType": "Locale",
            },
            "userLicense": body.get("userLicense", True),
            "phones": [],
            "cloudProvisioningEnabled": body.get("cloudProvisioningEnabled", False),
            "preferences": {
                "wallboards": [],
                "permissions": PERMISSIONS,
                "commonName": user_name,
                "oid": self.new_oid(),
                "objectType": "UserPreferences",
            },
            "loginFailures": 0,
            "_password": body.get("password", ""),
            "permissions": PERMISSIONS,
            "commonName": common_name,
            "oid": self.new_oid(),
            "objectType": "UserProfile",
        }
        self.index.store(user)
        self.index.hint_user(user)
        try:
            self.check_licence()
        except XelionError:
            self.index.remove(user["oid"])
            raise
        # Xelion gives every new user its own line and a softphone on it.
        line = self.create_phoneline({"commonName": common_name}, user_line=True)
        line["associatedAddressable"] = person["oid"]
        line["callLogUsers"] = [user["oid"]]
        self.connect_user(line, user)
        phone = {"commonName": f"{common_name} (Softphone)", "oid": self.new_oid(), "objectType": "XCCPhone"}
        self.index.store(phone)
        user["primaryLine"] = line["oid"]
        user["phones"] = [phone["oid"]]
        return user

    def create_trunk(self, body: dict[str, Any]) -> dict[str, Any]:
        check_attributes(body, set(TRUNK_SCALARS) | set(TRUNK_LISTS) | {"assignedNumbers"}, "XCCTrunk")
        for key, kind in TRUNK_SCALARS.items():
            if key in body:
                check_value(key, body[key], kind)
        if not body.get("providerName", "").strip() or not body.get("host", "").strip():
            raise invalid("a trunk needs providerName and host")
        prefix = f"{self.tenant['name']}_"
        provider = body["providerName"] if body["providerName"].startswith(prefix) else prefix + body["providerName"]
        trunk: dict[str, Any] = {
            name: (0 if kind is int else False if kind is bool else "") for name, kind in TRUNK_SCALARS.items()
        }
        trunk.update({key: body[key] for key in TRUNK_SCALARS if key in body})
        trunk.update({name: list(check_value(name, body.get(name, []), list)) for name in TRUNK_LISTS})
        trunk.update(
            {
                "providerName": provider,
                "assignedNumbers": [],
                "registrationStatus": "",
                "registrationDate": "",
                "rejectedRegistrationCause": "",
                "snmpId": 0,
                "permissions": PERMISSIONS,
                "commonName": provider,
                "oid": self.new_oid(),
                "objectType": "XCCTrunk",
            }
        )
        for value in check_value("assignedNumbers", body.get("assignedNumbers", []), list):
            self.add_trunk_number(trunk, value)
        self.index.store(trunk)
        return trunk

    def create_usergroup(self, body: dict[str, Any]) -> dict[str, Any]:
        check_attributes(body, set(USERGROUP_SCALARS), "UserGroup")
        name = check_value("commonName", body.get("commonName", ""), str).strip()
        if not name:
            raise invalid("a user group needs a commonName")
        if any(group["commonName"].lower() == name.lower() for group in self.of_type("UserGroup")):
            raise XelionError(500, 11000, f"a user group named {name!r} already exists")
        group = {
            "description": check_value("description", body.get("description", ""), str),
            "members": [],
            "permissions": PERMISSIONS,
            "commonName": name,
            "oid": self.new_oid(),
            "objectType": "UserGroup",
        }
        self.index.store(group)
        return group

    # deletion
    def delete(self, obj: dict[str, Any]) -> None:
        oid = obj["oid"]
        if obj["objectType"] == "Person" and self.user_of_person(oid) is not None:
            raise invalid(f"Person {oid} is linked to a user; delete the user first")
        if obj["objectType"] == "UserProfile":
            for phone_oid in obj["phones"]:
                self.index.remove(phone_oid)
            for line in self.of_type("XCCPhoneLine"):
                line["users"] = [rel for rel in line["users"] if rel["user"] != oid]
                line["callLogUsers"] = [u for u in line["callLogUsers"] if u != oid]
            for group in self.of_type("UserGroup"):
                group["members"] = [rel for rel in group["members"] if rel["user"] != oid]
        if obj["objectType"] == "XCCPhoneLine":
            for user in self.of_type("UserProfile"):
                if user["primaryLine"] == oid:
                    user["primaryLine"] = None
        self.index.remove(oid)
