"""A simulator holding one large customer, served in a process of its own for benchmarks/reconcile.py
(so that the portal's time and memory are measured apart from the PBX's).

    .venv/bin/python benchmarks/support/seeded_pbx.py xcu|xelion|xc5 USERS

Prints one JSON line (the base URL and what the portal needs to reach the customer), then serves
until its standard input closes. The customer's users are put into the simulator's state the way
its API would have made them (the first through the API itself, the rest alike), numbered from
FIRST_NUMBER, in one entity (XCU) or user group (Xelion) called "bench".
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIRST_NUMBER = 20000
TENANT = "bench"
XC5_ENVIRONMENT = "bench.x.co.nz"


def person_name(n: int) -> tuple[str, str]:
    return f"Given{n}", f"Family{n}"


def seed_xcu(users: int) -> tuple[Any, dict[str, Any]]:
    from werkzeug.test import Client

    from telephony.sandbox.xcu import XcuSimulator

    sim = XcuSimulator()
    api = Client(sim)
    assert api.post("/api/1.0/login", json={"login": "admin", "password": "superpass"}).status_code == 200
    xivo = next(x for x in sim.state["xivos"] if x["id"] == 2)
    xivo["remainingSlots"] = users + 100
    last = str(FIRST_NUMBER + users - 1)
    entity = {"name": TENANT, "displayName": "Bench", "xivoId": 2,
              "intervals": [{"start": str(FIRST_NUMBER), "end": last}]}  # fmt: skip
    created = api.post("/api/1.0/entities", json=entity)
    assert created.status_code == 201, created.text
    combined = created.json["combinedId"]
    template = {"name": "Bench line", "xivos": [2], "entities": [], "peerSipName": "auto", "ringingTime": 25,
                "routedInbound": False, "callerIdMode": "anonymous", "voiceMailEnabled": True}  # fmt: skip
    template_id = api.post("/api/1.0/templates", json=template).json["id"]
    given, family = person_name(0)
    first = {"entityCId": combined, "templateId": template_id, "firstName": given, "lastName": family,
             "internalNumber": str(FIRST_NUMBER), "ctiLogin": "user0"}  # fmt: skip
    answer = api.post("/api/1.0/users", json=first)
    assert answer.status_code == 201, answer.text
    model = sim.state["users"][-1]
    for n in range(1, users):
        user = copy.deepcopy(model)
        given, family = person_name(n)
        user.update(id=sim.next_id("users"), provisioningNumber=str(sim.next_id("provisioning")), firstName=given,
                    lastName=family, internalNumber=str(FIRST_NUMBER + n), ctiLogin=f"user{n}")  # fmt: skip
        sim.state["users"].append(user)
    xivo["remainingSlots"] -= users - 1
    return sim, {"entity": combined, "entity_id": created.json["id"]}


def seed_xelion(users: int) -> tuple[Any, dict[str, Any]]:
    from telephony.sandbox.xelion import MASTER_PASSWORD, XelionServerSimulator
    from telephony.sandbox.xelion_tenants import STARTED

    sim = XelionServerSimulator()
    tenant = sim.create_named_tenant(TENANT, licenses=users + 10)
    tenant["status"] = STARTED
    tenant["accounts"]["admin"]["password"] = MASTER_PASSWORD  # the platform's one login, as on the master
    objects = sim.objects_of(tenant)
    group = objects.create_usergroup({"commonName": TENANT, "description": "Bench"})
    # the simulator's own checks look through every object (fine for a test's handful): skipped
    # here, where the names and numbers are unique by construction
    objects.of_type = lambda object_type: []
    objects.address_owner = lambda address: None
    for n in range(users):
        given, family = person_name(n)
        person = objects.create_person({"givenName": given, "familyName": family})
        user = objects.create_user({"userName": f"user{n}", "person": {"oid": person["oid"], "objectType": "Person"}})
        objects.add_line_address(objects.objects[user["primaryLine"]], str(FIRST_NUMBER + n))
        group["members"].append({"user": user["oid"], "oid": objects.new_oid(), "objectType": "XCCUserGroupMember"})
    return sim, {"tenant_oid": tenant["oid"]}


def seed_xc5(users: int) -> tuple[Any, dict[str, Any]]:
    from werkzeug.test import Client

    from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator

    sim = Xc5Simulator()
    api = Client(sim)
    auth = {"Authorization": basic(SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)}

    def put(path: str, body: dict[str, Any]) -> None:
        answer = api.put(f"/api-sys/{path}", json=body, headers=auth)
        assert answer.status_code < 300, answer.text

    put("account/", {"username": XC5_ENVIRONMENT})
    for n in range(users):
        given, family = person_name(n)
        account, number = f"user{n}@{XC5_ENVIRONMENT}", str(FIRST_NUMBER + n)
        put(f"account/{XC5_ENVIRONMENT}/child", {"username": account, "description": f"{given} {family}"})
        rule = {"order": -2, "prefix_raw": number, "username": account, "destination": f":{number}"}
        put(f"account/{XC5_ENVIRONMENT}/callrule", rule)
    return sim, {}


def basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


SEEDERS = {"xcu": seed_xcu, "xelion": seed_xelion, "xc5": seed_xc5}


def main() -> None:
    kind, users = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from telephony.sandbox.server import serve_in_thread

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per API call otherwise

    simulator, facts = SEEDERS[kind](users)
    served = serve_in_thread(simulator)
    print(json.dumps({"base_url": served.base_url, **facts}), flush=True)
    sys.stdin.read()  # until the benchmark closes the pipe
    served.stop()


if __name__ == "__main__":
    main()
