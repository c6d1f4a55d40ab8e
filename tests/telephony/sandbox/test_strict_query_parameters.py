"""Strict where the documents are strict: a query parameter a call does not document is refused
in the platform's error shape, not ignored (a misspelt `limit`, `filter` or `requestedLicenses`
would otherwise give the client an answer it did not ask for), and changes nothing.

- Xelion lists take `limit`, `order`, `before`, `after`, `where`, `include`; other calls none.
  (The master's `tenants` API is the sandbox's own, see docs/backend-fidelity.md: left as it is.)
- Park Manager `start-new-tenant` takes `name`, `requestedLicenses`, `label` (and the sandbox's
  `serverId`); `tenants/{id}/login` none. (The v2 listings are extensions: left as they are.)
- XCU documents no query parameter for any call.
- XC5-XS: `filter`, `horizontal`, `dump-config` on account lists, `filter` on numberallocate and
  location, `patch` on PUT."""

from __future__ import annotations

import requests

from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.sandbox.xelion import MASTER_PASSWORD, XelionServerSimulator
from tests.telephony.sandbox.xelion_api import logged_in_master


def test_xelion_refuses_an_undocumented_query_parameter(serve):
    simulator = XelionServerSimulator()
    master = logged_in_master(serve(simulator).base_url)
    assert master.call("GET", "addressables", params={"limit": 5, "order": "decending"}).status_code == 200
    refused = master.call("GET", "addressables", params={"limt": 5})
    assert refused.status_code == 400
    assert refused.json() == {
        "errorCode": 10202,
        "message": "unknown query parameter(s) limt",
        "info": "resource=GET /api/v1/master/addressables",
    }
    before = simulator.snapshot()
    person = {"objectType": "Person", "commonName": "Ann Lee"}
    refused = master.call("POST", "addressables", params={"limit": 5}, json=person)  # a list parameter, not a list
    assert (refused.status_code, refused.json()["errorCode"]) == (400, 10202)
    assert simulator.snapshot() == before
    login = {"userName": "admin", "password": MASTER_PASSWORD, "userSpace": "query"}
    refused = requests.post(master.url("me/login"), params={"appKey": "x"}, json=login, timeout=5)
    assert refused.json() == {
        "errorCode": 10202,
        "message": "unknown query parameter(s) appKey",
        "info": "resource=POST /api/v1/master/me/login",
    }


def test_park_manager_refuses_an_undocumented_query_parameter(serve):
    server, pm = build_xelion_park()
    serve(server)
    pm_url = serve(pm).base_url
    headers = {"X-Auth-Key": ROOT_API_KEY}
    url = f"{pm_url}/api/v1/park/start-new-tenant"
    refused = requests.post(url, params={"name": "company", "licenses": 42}, headers=headers, timeout=5)
    assert refused.status_code == 400
    assert refused.json() == {
        "status": 400,
        "error": "Bad Request",
        "message": "unknown query parameter(s): licenses",
        "path": "/api/v1/park/start-new-tenant",
    }
    assert server.tenant_by_name("company") is None
    started = requests.post(url, params={"name": "company", "requestedLicenses": 42}, headers=headers, timeout=5)
    tenant_id = started.json()["tenant"]["id"]
    login = requests.post(f"{pm_url}/api/v2/tenants/{tenant_id}/login?user=x", headers=headers, timeout=5)
    assert (login.status_code, login.json()["message"]) == (400, "unknown query parameter(s): user")


def test_xcu_refuses_any_query_parameter(serve):
    simulator = XcuSimulator()
    base = serve(simulator).base_url
    session = requests.Session()
    assert session.post(f"{base}/api/1.0/login", json={"login": "admin", "password": "superpass"}).ok
    assert session.get(f"{base}/api/1.0/xivo").status_code == 200
    refused = session.get(f"{base}/api/1.0/xivo", params={"name": "xivo-220"})
    assert (refused.status_code, refused.json()) == (400, {"error": "unknown query parameter(s): name"})
    before = simulator.snapshot()
    refused = session.delete(f"{base}/api/1.0/users/559", params={"force": "true"})
    assert (refused.status_code, refused.json()) == (400, {"error": "unknown query parameter(s): force"})
    assert simulator.snapshot() == before


def test_xc5_refuses_an_undocumented_query_parameter(serve):
    simulator = Xc5Simulator()
    base = serve(simulator).base_url
    auth = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    refused = requests.get(f"{base}/api-sys/account", params={"sort": "name"}, auth=auth, timeout=5)
    assert (refused.status_code, refused.headers["Content-Type"]) == (400, "application/hal+json")
    assert refused.json() == [{"error": "unknown parameter: sort"}]
    before = simulator.snapshot()
    body = {"username": "query.x.co.nz"}
    refused = requests.put(f"{base}/api-sys/account/", params={"filter": "%"}, json=body, auth=auth, timeout=5)
    assert (refused.status_code, refused.json()) == (400, [{"error": "unknown parameter: filter"}])
    assert simulator.snapshot() == before
