"""The Park Manager simulator over real HTTP, with the Xelion server simulator it manages: the
seed's answers field by field, the organisation tree, tenant lifecycle and tenant logins.

Seed example → test (the guide's whole flow, with every example, is test_xelion_seed_examples.py):

  Examples, Start new Xelion tenant via Park Manager API → test_start_new_tenant_as_the_seed_shows
  Examples, Creating API session via Park Manager API
    → test_tenant_login_as_the_seed_shows_gives_a_token_for_the_server
"""

from __future__ import annotations

import json
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import requests

from telephony.sandbox.parkmanager import (
    OTHER_API_KEY,
    RESELLER_API_KEY,
    ROOT_API_KEY,
    ParkManagerSimulator,
    build_xelion_park,
)
from telephony.sandbox.xelion import XelionServerSimulator

SEED_TENANT_KEYS = {
    "id", "databaseId", "subDatabaseName", "label", "resellerName", "active", "status", "licenses",
    "usage", "reservationTimeStamp", "version", "url", "server", "owner",
}  # fmt: skip
SEED_LICENCE_KEYS = {"id", "tenant", "name", "maxLicenses", "usedLicenses"}
SEED_USAGE_KEYS = {
    "db",
    "moh",
    "monitor",
    "callRecording",
    "voicemail",
    "chatAttachment",
    "mailAttachment",
    "totalAttachment",
    "total",
}
SEED_LOGIN_KEYS = {
    "authentication",
    "renewalToken",
    "validUntil",
    "version",
    "serverVersion",
    "brand",
    "buildNumber",
    "host",
    "tenant",
    "userName",
}
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def curl(method: str, url: str, *headers: str) -> tuple[int, dict]:
    command = [
        "curl",
        "-sS",
        "--noproxy",
        "*",
        "-X",
        method,
        url,
        "-w",
        "\n%{http_code}",
        "-H",
        "accept: application/json",
    ]
    for header in headers:
        command += ["-H", header]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=20)
    text, _, status = completed.stdout.rpartition("\n")
    return int(status), json.loads(text)


@pytest.fixture
def park(serve):
    server, pm = build_xelion_park()
    server_url = serve(server).base_url
    pm_url = serve(pm).base_url
    return server, pm, server_url, pm_url


def pm_call(
    pm_url: str, method: str, path: str, key: str = ROOT_API_KEY, org: str | None = None, **kwargs
) -> requests.Response:
    headers = {"X-Auth-Key": key}
    if org is not None:
        headers["X-As-Organization"] = org
    return requests.request(method, f"{pm_url}{path}", headers=headers, timeout=5, **kwargs)


def start(pm_url: str, name: str, key: str = ROOT_API_KEY, org: str | None = None, **params) -> requests.Response:
    return pm_call(pm_url, "POST", "/api/v1/park/start-new-tenant", key, org, params={"name": name, **params})


def test_start_new_tenant_as_the_seed_shows(park):
    server, _pm, server_url, pm_url = park
    status, answer = curl(
        "POST",
        f"{pm_url}/api/v1/park/start-new-tenant?name=company&requestedLicenses=42&label=ACME",
        f"X-Auth-Key: {ROOT_API_KEY}",
    )
    assert status == 200
    assert set(answer) == {"response", "server", "tenant"} and answer["response"] == {}
    assert answer["server"] == {
        "id": 1,
        "name": server.server_name,
        "scheme": "http",
        "fqdn": urlsplit(server_url).netloc,
        "version": server.server_version,
    }
    tenant = answer["tenant"]
    assert set(tenant) == SEED_TENANT_KEYS
    assert set(tenant["licenses"][0]) == SEED_LICENCE_KEYS and set(tenant["usage"]) == SEED_USAGE_KEYS
    assert (tenant["subDatabaseName"], tenant["label"], tenant["status"], tenant["active"]) == (
        "company",
        "ACME",
        "STARTED",
        True,
    )
    assert tenant["licenses"][0]["maxLicenses"] == 42
    assert ISO_MILLIS.match(tenant["reservationTimeStamp"])
    record = server.tenant_by_name("company")
    assert record["databaseId"] == tenant["databaseId"] and record["status"] == "STARTED" and record["licenses"] == 42
    assert server.tenant_by_name("parked-1") is None  # the first parked tenant was taken and renamed


def test_tenant_login_as_the_seed_shows_gives_a_token_for_the_server(park):
    _server, _pm, server_url, pm_url = park
    tenant_id = start(pm_url, "company").json()["tenant"]["id"]
    status, login = curl(
        "POST", f"{pm_url}/api/v2/tenants/{tenant_id}/login", "X-As-Organization: 1", f"X-Auth-Key: {ROOT_API_KEY}"
    )
    assert status == 200
    assert set(login) == SEED_LOGIN_KEYS
    assert ISO_MILLIS.match(login["validUntil"])
    assert (login["host"], login["tenant"]) == (urlsplit(server_url).netloc, "company")
    users = requests.get(
        f"{server_url}/api/v1/company/users", headers={"Authorization": f"xelion {login['authentication']}"}, timeout=5
    )
    assert users.status_code == 200
    on_master = requests.get(
        f"{server_url}/api/v1/master/users", headers={"Authorization": f"xelion {login['authentication']}"}, timeout=5
    )
    assert on_master.status_code == 401


def test_start_new_tenant_refusals(park):
    _server, _pm, _url, pm_url = park
    assert start(pm_url, "company").status_code == 200
    taken = start(pm_url, "company")
    assert taken.status_code == 409 and "already in use" in taken.json()["message"]
    assert start(pm_url, "").status_code == 400
    assert start(pm_url, "Not Valid").status_code == 400
    assert start(pm_url, "x1", requestedLicenses="many").status_code == 400
    assert set(taken.json()) == {"status", "error", "message", "path"}


def test_the_park_refills_until_the_server_is_full(serve):
    server = XelionServerSimulator(capacity_tenants=4)
    pm = ParkManagerSimulator([server])
    serve(server)
    pm_url = serve(pm).base_url
    for name in ("t1", "t2", "t3", "t4"):  # three parked tenants, then a fresh one
        assert start(pm_url, name).status_code == 200
    full = start(pm_url, "t5")
    assert full.status_code == 409 and "no parked tenant" in full.json()["message"]


def test_authentication_and_organisation_tree(park):
    _server, _pm, _url, pm_url = park
    assert requests.get(f"{pm_url}/api/v2/tenants", timeout=5).status_code == 401
    assert pm_call(pm_url, "GET", "/api/v2/tenants", key="wrong").status_code == 401
    reseller_tenant = start(pm_url, "reseller-co", key=RESELLER_API_KEY).json()["tenant"]
    assert reseller_tenant["owner"] == 2 and reseller_tenant["resellerName"] == "Sandbox Reseller"
    root_as_child = start(pm_url, "child-co", org="2").json()["tenant"]
    assert root_as_child["owner"] == 2
    root_tenant = start(pm_url, "root-co").json()["tenant"]

    def names(key: str, org: str | None = None) -> set[str]:
        return {t["subDatabaseName"] for t in pm_call(pm_url, "GET", "/api/v2/tenants", key=key, org=org).json()}

    assert names(ROOT_API_KEY) == {"reseller-co", "child-co", "root-co"}
    assert names(ROOT_API_KEY, org="2") == names(RESELLER_API_KEY) == {"reseller-co", "child-co"}
    assert names(OTHER_API_KEY) == set()
    assert pm_call(pm_url, "GET", "/api/v2/tenants", key=RESELLER_API_KEY, org="3").status_code == 403
    assert pm_call(pm_url, "GET", "/api/v2/tenants", key=RESELLER_API_KEY, org="1").status_code == 403
    assert pm_call(pm_url, "GET", f"/api/v2/tenants/{root_tenant['id']}", key=RESELLER_API_KEY).status_code == 404
    assert (
        pm_call(pm_url, "POST", f"/api/v2/tenants/{reseller_tenant['id']}/login", key=OTHER_API_KEY).status_code == 404
    )
    assert [o["id"] for o in pm_call(pm_url, "GET", "/api/v2/organizations").json()] == [1, 2, 3]
    assert [o["id"] for o in pm_call(pm_url, "GET", "/api/v2/organizations", key=RESELLER_API_KEY).json()] == [2]
    assert len(pm_call(pm_url, "GET", "/api/v2/servers", key=RESELLER_API_KEY).json()) == 1  # shared down the tree


def test_stop_and_start_reach_the_server(park):
    server, _pm, server_url, pm_url = park
    tenant_id = start(pm_url, "company").json()["tenant"]["id"]
    login = pm_call(pm_url, "POST", f"/api/v2/tenants/{tenant_id}/login").json()
    stopped = pm_call(pm_url, "POST", f"/api/v2/tenants/{tenant_id}/stop")
    assert stopped.json()["status"] == "STOPPED" and server.tenant_by_name("company")["status"] == "STOPPED"
    assert pm_call(pm_url, "POST", f"/api/v2/tenants/{tenant_id}/stop").status_code == 409
    assert pm_call(pm_url, "POST", f"/api/v2/tenants/{tenant_id}/login").status_code == 409
    old_token = {"Authorization": f"xelion {login['authentication']}"}
    assert requests.get(f"{server_url}/api/v1/company/users", headers=old_token, timeout=5).status_code == 401
    assert pm_call(pm_url, "POST", f"/api/v2/tenants/{tenant_id}/start").json()["active"] is True
    assert pm_call(pm_url, "POST", f"/api/v2/tenants/{tenant_id}/login").status_code == 200


def test_servers_listing_and_choosing_a_server(serve):
    first, second = XelionServerSimulator(server_name="xs-1"), XelionServerSimulator(server_name="xs-2")
    pm = ParkManagerSimulator([first, second])
    serve(first)
    second_url = serve(second).base_url
    pm_url = serve(pm).base_url
    servers = pm_call(pm_url, "GET", "/api/v2/servers").json()
    assert [(s["id"], s["name"], s["maxTenants"], s["parkedTenants"]) for s in servers] == [
        (1, "xs-1", 100, 3),
        (2, "xs-2", 100, 3),
    ]
    assert servers[1]["fqdn"] == urlsplit(second_url).netloc
    answer = start(pm_url, "on-two", serverId="2").json()
    assert answer["server"]["name"] == "xs-2" and second.tenant_by_name("on-two") is not None
    assert pm_call(pm_url, "GET", "/api/v2/tenants", params={"server": "2"}).json()[0]["subDatabaseName"] == "on-two"
    assert pm_call(pm_url, "GET", "/api/v2/servers/9").status_code == 404


def test_faults_apply_to_the_park_manager_api(park):
    _server, pm, _url, pm_url = park
    pm.set_faults({"down": True})
    down = pm_call(pm_url, "GET", "/api/v2/servers")
    assert down.status_code == 503 and down.json()["status"] == 503
    pm.set_faults({"down": False})
    assert pm_call(pm_url, "GET", "/api/v2/servers").status_code == 200
