"""The simulators' documented-only switch (`FaultConfig.documented_only`, `pbx_sandbox
--documented-only`): each extension listed in docs/backend-fidelity.md is refused the way the real
API refuses an unknown field, path or parameter, and accepted again once the switch is off."""

import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from telephony.sandbox.base import FaultConfig
from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.sandbox.server import serve_in_thread
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME


def test_the_switch_is_a_fault_setting_that_takes_only_yes_or_no():
    assert FaultConfig.from_dict({"documented_only": True}).documented_only is True
    with pytest.raises(ValueError, match="documented_only must be true or false"):
        FaultConfig.from_dict({"documented_only": "yes"})


# ---------------------------------------------------------------------- XiVO XCU
@pytest.fixture(scope="module")
def xcu():
    running = serve_in_thread(XcuSimulator())
    yield running
    running.stop()


@pytest.fixture
def xcu_api(xcu):
    xcu.simulator.faults = FaultConfig(documented_only=True)
    xcu.simulator.reset()
    session = requests.Session()
    session.url = lambda path: f"{xcu.base_url}/api/1.0/{path}"
    assert session.post(session.url("login"), json={"login": "admin", "password": "superpass"}).status_code == 200
    return session


XCU_TEMPLATE = {
    "name": "Standard",
    "xivos": [1],
    "entities": [],
    "peerSipName": "auto",
    "ringingTime": 25,
    "routedInbound": False,
    "callerIdMode": "anonymous",
    "voiceMailEnabled": True,
}


@pytest.fixture
def xcu_user(xcu_api):
    """A documented user body on a new entity and template of xivo-220."""
    entity = xcu_api.post(
        xcu_api.url("entities"),
        json={"name": "acme", "displayName": "Acme", "xivoId": 1, "intervals": [{"start": "2000", "end": "2099"}]},
    ).json()
    template = xcu_api.post(xcu_api.url("templates"), json=XCU_TEMPLATE).json()
    return {
        "entityCId": entity["combinedId"],
        "templateId": template["id"],
        "firstName": "Ada",
        "lastName": "Lovelace",
        "internalNumber": "2001",
    }


@pytest.mark.parametrize("field", ["mail", "externalNumber"])
def test_xcu_refuses_the_user_fields_the_document_does_not_list(xcu, xcu_api, xcu_user, field):
    body = xcu_user
    value = "ada@example.com" if field == "mail" else "+31201234567"
    refused = xcu_api.post(xcu_api.url("users"), json={**body, field: value})
    assert (refused.status_code, refused.json()) == (400, {"error": f"unknown field(s): {field}"})
    created = xcu_api.post(xcu_api.url("users"), json=body)  # the documented fields alone are fine
    assert created.status_code == 201
    edit = xcu_api.put(xcu_api.url(f"users/{created.json()['id']}"), json={**body, field: value})
    assert edit.status_code == 400
    xcu.simulator.set_faults({"documented_only": False})
    assert xcu_api.put(xcu_api.url(f"users/{created.json()['id']}"), json={**body, field: value}).status_code == 200


# ---------------------------------------------------------------------- XC5-XS
@pytest.fixture(scope="module")
def xc5():
    running = serve_in_thread(Xc5Simulator())
    yield running
    running.stop()


@pytest.fixture
def xc5_api(xc5):
    xc5.simulator.faults = FaultConfig(documented_only=True)
    xc5.simulator.reset()
    session = requests.Session()
    session.auth = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    session.url = lambda path: f"{xc5.base_url}/api-sys/{path}"
    assert session.put(session.url("account/"), json={"username": "acme.x.co.nz"}).status_code in (200, 201)
    return session


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Ada"),
        ("ums_pin", "4321"),
        ("cfna_dest", "600"),
        ("cfna_active", False),
        ("concurrent_limit", 1),
    ],
)
def test_xc5_refuses_account_fields_the_seed_shows_only_on_hydra_lines(xc5, xc5_api, field, value):
    child = xc5_api.url("account/acme.x.co.nz/child")
    refused = xc5_api.put(child, json={"username": "ada@acme.x.co.nz", field: value})
    assert (refused.status_code, refused.json()) == (400, [{"error": f"unknown field: {field}"}])
    assert xc5_api.put(child, json={"username": "ada@acme.x.co.nz", "cfna_duration": 10}).ok  # documented
    patch = xc5_api.patch(xc5_api.url("account/ada@acme.x.co.nz"), json={field: value})
    assert patch.status_code == 400
    xc5.simulator.set_faults({"documented_only": False})
    assert xc5_api.patch(xc5_api.url("account/ada@acme.x.co.nz"), json={field: value}).ok


def test_xc5_refuses_dump_config(xc5, xc5_api):
    refused = xc5_api.get(xc5_api.url("account/acme.x.co.nz"), params={"dump-config": "true"})
    assert (refused.status_code, refused.json()) == (400, [{"error": "unknown parameter: dump-config"}])
    assert xc5_api.get(xc5_api.url("account/acme.x.co.nz/child"), params={"dump-config": "true"}).status_code == 400
    assert xc5_api.get(xc5_api.url("account/acme.x.co.nz/number")).ok  # what the driver reads instead


# ---------------------------------------------------------------------- Xelion and its Park Manager
@pytest.fixture
def xelion(serve):
    server, park_manager = build_xelion_park()
    for simulator in (server, park_manager):
        simulator.set_faults({"documented_only": True})
    return SimpleNamespace(server=serve(server), pm=serve(park_manager))


@pytest.fixture
def master(xelion):
    """A logged-in session on the server's master tenant: `master.url(path)` builds its URLs."""
    session = requests.Session()
    session.url = lambda path: f"{xelion.server.base_url}/api/v1/master/{path}"
    login = {"userName": MASTER_USERNAME, "password": MASTER_PASSWORD, "userSpace": "documented-only test"}
    answer = session.post(session.url("me/login"), json=login)
    session.headers["Authorization"] = f"xelion {answer.json()['authentication']}"
    return session


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "addressables", {"objectType": "Person", "commonName": "Ada", "addresses": []}, 400),
        ("POST", "usergroups", {"objectType": "UserGroup", "commonName": "sales", "members": []}, 400),
        ("POST", "phonelines", {"objectType": "XCCPhoneLine", "extensions": [{"address": "+31201234567"}]}, 400),
        ("GET", "users?where=commonName=Ada", None, 400),
        ("GET", "usergroups?include=members", None, 400),
        ("DELETE", "addressables/1", None, 405),
        ("GET", "tenants", None, 404),
        ("POST", "tenants", {"name": "acme"}, 404),
    ],
)
def test_xelion_refuses_what_the_guide_and_facts_do_not_show(master, method, path, body, status):
    answer = master.request(method, master.url(path), json=body)
    assert answer.status_code == status
    assert set(answer.json()) >= {"errorCode", "message"}


def test_xelion_takes_what_the_guide_and_facts_show(master):
    person = master.post(master.url("addressables"), json={"objectType": "Person", "commonName": "Mark van Dam"})
    assert person.status_code == 200
    line = {"objectType": "XCCPhoneLine", "commonName": "Sales", "extensions": [{"address": "333"}]}
    assert master.post(master.url("phonelines"), json=line).status_code == 200
    assert master.get(master.url("users"), params={"where": "userName=admin"}).status_code == 200
    assert master.get(master.url("addressables"), params={"limit": 5, "include": "commonName"}).status_code == 200


def test_park_manager_refuses_the_v2_listings_start_stop_and_server_choice(xelion):
    headers = {"X-Auth-Key": ROOT_API_KEY}
    api = f"{xelion.pm.base_url}/api"
    for method, path in (("GET", "v2/servers"), ("GET", "v2/tenants"), ("POST", "v2/tenants/1/stop")):
        refused = requests.request(method, f"{api}/{path}", headers=headers)
        assert (refused.status_code, refused.json()["error"]) == (404, "Not Found")
    chosen = requests.post(f"{api}/v1/park/start-new-tenant", params={"name": "acme", "serverId": 1}, headers=headers)
    assert (chosen.status_code, chosen.json()["message"]) == (400, "unknown parameter: serverId")
    started = requests.post(f"{api}/v1/park/start-new-tenant", params={"name": "acme"}, headers=headers)
    assert started.status_code == 200
    login = requests.post(f"{api}/v2/tenants/{started.json()['tenant']['id']}/login", headers=headers)
    assert login.status_code == 200 and login.json()["authentication"]


def test_the_command_line_switch_reaches_every_simulator(tmp_path):
    ports = {}
    for name in ("status", "xelion", "parkmanager", "xcu", "xc5"):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports[name] = probe.getsockname()[1]
    command = [sys.executable, "manage.py", "pbx_sandbox", "--documented-only"]
    command += [argument for name, port in ports.items() for argument in (f"--{name}-port", str(port))]
    process = subprocess.Popen(command, cwd=Path(__file__).parents[3], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        faults = {}
        for name in ("xelion", "parkmanager", "xcu", "xc5"):
            while name not in faults:
                try:
                    faults[name] = requests.get(f"http://127.0.0.1:{ports[name]}/_sandbox/faults", timeout=2).json()
                except requests.ConnectionError:
                    assert time.monotonic() < deadline and process.poll() is None, process.stdout.read()
                    time.sleep(0.2)
        assert {name: answer["documented_only"] for name, answer in faults.items()} == dict.fromkeys(faults, True)
    finally:
        process.terminate()
        process.wait(timeout=10)
