"""Strict where the documents are strict: a write that sets what the server makes is refused the
way the platform refuses invalid input, and changes nothing.

- Xelion: every object's `oid` is the server's (the guide: "The oid must be used in the next
  call"): a new object or sub-object that brings one, or a PATCH of `/oid`, is 400/10203 ("oid or
  objectType missing or invalid").
- XC5-XS: `guid`, `assigned`, `mailbox`, `created`, a prompt's `prompt_length` and `group_access`,
  and `_links` ("The _links data is read-only") are refused with 400 `[{"error": "field … is
  read-only"}]`.
- XCU: ids, `uuid`, `combinedId`, `provisioningNumber`, `remainingSlots`, the embedded `xivo` and
  `entity` are only ever answered: 400 `{"error": "read-only field(s): …"}` (an `id` equal to the
  addressed object's is tolerated: it changes nothing).
- Park Manager: every documented call takes its input in the query string; no body, no field."""

from __future__ import annotations

import requests

from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.sandbox.xelion import XelionServerSimulator
from tests.telephony.sandbox.xelion_api import logged_in_master, started_tenant


def test_xelion_refuses_an_oid_sent_by_the_client(serve):
    simulator = XelionServerSimulator()
    tenant = started_tenant(logged_in_master(serve(simulator).base_url))
    line = tenant.create("phonelines", {"commonName": "Sales", "objectType": "XCCPhoneLine"})
    before = simulator.snapshot()
    refused = tenant.call("POST", "addressables", json={"objectType": "Person", "commonName": "Ann Lee", "oid": "1"})
    assert refused.status_code == 400
    assert refused.json() == {
        "errorCode": 10203,
        "message": "a new Person gets its oid from the server: do not send one",
        "info": "resource=POST /api/v1/acme/addressables",
    }
    extension = {"address": "333", "objectType": "TelecomAddress", "oid": "2730367"}
    body = {"commonName": "Support", "extensions": [extension], "objectType": "XCCPhoneLine"}
    assert tenant.call("POST", "phonelines", json=body).json()["errorCode"] == 10203
    replace = [{"op": "replace", "path": "/oid", "value": "1"}]
    refused = tenant.call("PATCH", f"phonelines/{line['oid']}", json={"operations": replace})
    assert (refused.status_code, refused.json()["errorCode"], refused.json()["message"]) == (
        400,
        10203,
        "/oid is read-only",
    )
    assert simulator.snapshot()["tenants"] == before["tenants"]  # a refused create may use up an oid, as a sequence


def test_xc5_refuses_read_only_fields(serve):
    simulator = Xc5Simulator()
    base = serve(simulator).base_url
    auth = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    [env] = requests.put(f"{base}/api-sys/account/", json={"username": "ro.x.co.nz"}, auth=auth, timeout=5).json()
    before = simulator.snapshot()
    url = f"{base}/api-sys/account/ro.x.co.nz"
    for field, value in (("_links", env["_links"]), ("guid", env["guid"]), ("created", "2020-01-01T00:00:00Z")):
        refused = requests.patch(url, json={field: value}, auth=auth, timeout=5)
        assert (refused.status_code, refused.headers["Content-Type"]) == (400, "application/hal+json")
        assert refused.json() == [{"error": f"field {field} is read-only"}]
    refused = requests.put(f"{url}/number", json={"number": "6493339999", "assigned": "x"}, auth=auth, timeout=5)
    assert (refused.status_code, refused.json()) == (400, [{"error": "field assigned is read-only"}])
    assert simulator.snapshot() == before


def test_xcu_refuses_server_made_fields(serve):
    simulator = XcuSimulator()
    base = serve(simulator).base_url
    session = requests.Session()
    assert session.post(f"{base}/api/1.0/login", json={"login": "admin", "password": "superpass"}).ok
    seed_user = session.get(f"{base}/api/1.0/users/559").json()
    before = simulator.snapshot()
    edit = {
        "entityCId": seed_user["entity"]["combinedId"],
        "templateId": 1,
        "firstName": seed_user["firstName"],
        "lastName": seed_user["lastName"],
        "internalNumber": seed_user["internalNumber"],
    }
    refused = session.put(f"{base}/api/1.0/users/559", json={**edit, "provisioningNumber": "1"})
    assert (refused.status_code, refused.json()) == (400, {"error": "read-only field(s): provisioningNumber"})
    refused = session.put(f"{base}/api/1.0/users/559", json={**edit, "id": 560})
    assert (refused.status_code, refused.json()) == (400, {"error": "read-only field(s): id"})
    refused = session.post(f"{base}/api/1.0/xivo", json={"name": "x", "host": "x.example.net", "remainingSlots": 9})
    assert (refused.status_code, refused.json()) == (400, {"error": "read-only field(s): remainingSlots"})
    assert simulator.snapshot() == before
    assert session.put(f"{base}/api/1.0/users/559", json={**edit, "id": 559}).status_code == 200
