"""The Xelion Configurator simulator over real HTTP: the organization tree of API keys, write-only
credentials, the configuration checks, orders that really build a tenant on the Xelion simulator,
and webhooks that arrive late, twice, out of order or never."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from telephony.sandbox.configurator import ROOT_KEY, ConfiguratorSimulator
from telephony.sandbox.configurator_orders import OrderRefused, check_order
from telephony.sandbox.xelion import XelionServerSimulator
from telephony.sandbox.xelion_tenants import STARTED, tenant_admin_password

ORDER = {
    "version": 1,
    "organization": {"name": "Fairy Tail", "country": "NL", "centralPhoneNumber": {"new": False,
                                                                                    "value": "+31201234500"}},
    "departments": [
        {"name": "Sales", "users": ["ann@fairy.example", "ben@fairy.example"], "internalNumbers": ["201", "202"],
         "externalNumbers": [{"new": False, "value": "+31201234500"}], "fallback": {"type": "voicemail"}},
        {"name": "Support", "users": ["cy@fairy.example"], "internalNumbers": [301]},
    ],
}  # fmt: skip


@pytest.fixture
def configurator(serve):
    return serve(ConfiguratorSimulator(order_delay_seconds=0.05))


@pytest.fixture
def xelion(serve):
    simulator = XelionServerSimulator()
    tenant = simulator.create_named_tenant("fairy", licenses=10)
    tenant["status"] = STARTED
    return serve(simulator)


@pytest.fixture
def tenant_token(xelion):
    login = {"userName": "admin", "password": tenant_admin_password("fairy"), "userSpace": "configurator"}
    answer = requests.post(f"{xelion.base_url}/api/v1/fairy/me/login", json=login, timeout=5)
    assert answer.ok, answer.text
    return answer.json()["authentication"]


def api(configurator, key=ROOT_KEY):
    session = requests.Session()
    session.headers["X-Auth-Key"] = key
    session.url = lambda path: f"{configurator.base_url}/api/v1/{path}"
    return session


class Receiver:
    """A webhook endpoint on loopback that keeps what it is sent, in arrival order."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return [(m["data"]["status"], m["mid"]) for m in self.received]


@pytest.fixture
def receiver():
    hook = Receiver()
    yield hook
    hook.server.shutdown()


def provision(configurator, xelion, token, order=ORDER, callback="", key=ROOT_KEY):
    headers = {"Xelion-Server-Url": xelion.base_url, "Xelion-Tenant-Name": "fairy", "Xelion-Tenant-Token": token}
    if callback:
        headers["X-Callback-Url"] = callback
    session = api(configurator, key)
    return session.post(session.url("provision"), json=order, headers=headers)


def wait_for_status(configurator, order_id, key=ROOT_KEY, timeout=10.0):
    session, deadline = api(configurator, key), time.monotonic() + timeout
    while time.monotonic() < deadline:
        order = session.get(session.url(f"orders/{order_id}")).json()
        if order["status"] in ("COMPLETED", "FAILED"):
            return order
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} did not finish")


def test_the_seed_example_is_a_valid_configuration(configurator):
    session = api(configurator)
    seed = {"version": 1, "organization": {"name": "Fairy Tail"}}
    answer = session.post(session.url("provision/test"), json=seed)
    assert answer.status_code == 200 and answer.content == b""


@pytest.mark.parametrize(
    "change, cause",
    [
        ({"version": 2}, "version"),
        ({"organization": {}}, "organization.name: required"),
        ({"organization": {"name": "X", "country": "Netherlands"}}, "organization.country"),
        ({"departments": [{"name": "A", "internalNumbers": ["600"]}]}, "emergency or reserved"),
        ({"departments": [{"name": "A", "internalNumbers": ["0123"]}]}, "1–4 digits"),
        ({"departments": [{"name": "A", "internalNumbers": ["201", "201"]}]}, "used twice"),
        ({"departments": [{"name": "A", "externalNumbers": [{"new": True, "value": "+31201234567"}]}],
          "organization": {"name": "X", "centralPhoneNumber": {"value": "+31201234567"}}}, "country: required"),
        ({"departments": [{"name": "A", "externalNumbers": [{"new": False, "value": "+31201234567"}]}],
          "organization": {"name": "X"}}, "centralPhoneNumber: required"),
        ({"departments": [{"name": "A", "users": ["a@x.example"]}]}, "need as many internalNumbers"),
        ({"surprise": 1}, "surprise: not a field"),
    ],
)  # fmt: skip
def test_a_configuration_the_service_refuses_answers_400_with_the_cause(configurator, change, cause):
    session = api(configurator)
    answer = session.post(session.url("provision/test"), json={**ORDER, **change})
    assert answer.status_code == 400 and cause in answer.json()["message"]
    with pytest.raises(OrderRefused, match=cause.split(":")[0]):
        check_order({**ORDER, **change})


def test_a_parent_manages_its_children_and_a_child_never_its_parent_or_sibling(configurator):
    root = api(configurator)
    first = root.post(root.url("organizations/"), json={"name": "Reseller A"}).json()
    second = root.post(root.url("organizations/"), json={"name": "Reseller B"}).json()
    assert first["parent"] == 1
    key = root.post(root.url(f"organizations/{first['id']}/apikeys")).json()["key"]
    assert len(key) == 32
    child = api(configurator, key)
    grandchild = child.post(child.url("organizations/"), json={"name": "Customer of A"}).json()
    assert grandchild["parent"] == first["id"]
    assert {o["id"] for o in child.get(child.url("organizations/")).json()} == {first["id"], grandchild["id"]}
    for other in (1, second["id"]):
        assert child.get(child.url(f"organizations/{other}/")).status_code == 404
        assert child.post(child.url(f"organizations/{other}/apikeys")).status_code == 404
    assert root.get(root.url(f"organizations/{grandchild['id']}/")).status_code == 200, "the grandparent too"
    assert api(configurator, "x" * 32).get(root.url("organizations/")).status_code == 401


def test_credentials_are_stored_and_never_read_back(configurator):
    root = api(configurator)
    assert (
        root.put(root.url("organizations/1/credentials/sipTrunk.password"), json={"value": "s3cret"}).status_code == 204
    )
    assert root.get(root.url("organizations/1/credentials")).json() == ["sipTrunk.password"]
    assert "s3cret" not in root.get(root.url("organizations/1/credentials")).text
    assert root.put(root.url("organizations/1/credentials/9bad"), json={"value": "x"}).status_code == 400
    assert root.delete(root.url("organizations/1/credentials/sipTrunk.password")).status_code == 204


def test_an_order_builds_the_tenant_on_the_xelion_server(configurator, xelion, tenant_token, receiver):
    answer = provision(configurator, xelion, tenant_token, callback=receiver.url)
    assert answer.status_code == 200 and set(answer.json()) == {"id"}
    order = wait_for_status(configurator, answer.json()["id"])
    assert order["status"] == "COMPLETED", order["error"]
    assert "_token" not in order and tenant_token not in json.dumps(order)
    objects = xelion.simulator.objects_of(xelion.simulator.tenant_by_name("fairy"))
    users = {u["userName"] for u in objects.of_type("UserProfile")}
    assert {"ann", "ben", "cy"} <= users
    lines = {ext["address"] for line in objects.of_type("XCCPhoneLine") for ext in line["extensions"]}
    assert {"201", "202", "301"} <= lines
    groups = {g["commonName"]: len(g["members"]) for g in objects.of_type("UserGroup")}
    assert groups["Sales"] == 2 and groups["Support"] == 1
    numbers = {n["extension"]["address"] for t in objects.of_type("XCCTrunk") for n in t["assignedNumbers"]}
    assert "+31201234500" in numbers
    messages = receiver.wait_for(2)
    assert [status for status, _ in messages] == ["IN_PROGRESS", "COMPLETED"]
    assert messages[0][1] < messages[1][1], "mids are chronological"


def test_an_order_with_a_token_the_tenant_refuses_fails(configurator, xelion, receiver):
    answer = provision(configurator, xelion, "not-a-token", callback=receiver.url)
    order = wait_for_status(configurator, answer.json()["id"])
    assert order["status"] == "FAILED" and "401" in order["error"]
    assert [status for status, _ in receiver.wait_for(2)] == ["IN_PROGRESS", "FAILED"]


def test_provisioning_needs_the_tenant_headers(configurator):
    session = api(configurator)
    answer = session.post(session.url("provision"), json=ORDER, headers={"Xelion-Tenant-Name": "fairy"})
    assert answer.status_code == 400 and "Xelion-Server-Url" in answer.json()["message"]


def test_orders_are_seen_by_their_organization_and_its_ancestors_only(configurator, xelion, tenant_token):
    root = api(configurator)
    child = root.post(root.url("organizations/"), json={"name": "Reseller"}).json()
    sibling = root.post(root.url("organizations/"), json={"name": "Other"}).json()
    child_key = root.post(root.url(f"organizations/{child['id']}/apikeys")).json()["key"]
    sibling_key = root.post(root.url(f"organizations/{sibling['id']}/apikeys")).json()["key"]
    order_id = provision(configurator, xelion, tenant_token, key=child_key).json()["id"]
    assert wait_for_status(configurator, order_id, key=child_key)["organization"] == child["id"]
    assert root.get(root.url(f"orders/{order_id}")).status_code == 200
    other = api(configurator, sibling_key)
    assert other.get(other.url(f"orders/{order_id}")).status_code == 404
    assert other.get(other.url("orders")).json() == []


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("twice", ["IN_PROGRESS", "IN_PROGRESS", "COMPLETED", "COMPLETED"]),
        ("out_of_order", ["COMPLETED", "IN_PROGRESS"]),
        ("never", []),
    ],
)
def test_webhooks_can_be_made_to_misbehave(configurator, xelion, tenant_token, receiver, mode, expected):
    assert requests.put(f"{configurator.base_url}/_sandbox/webhooks", json={"mode": mode}, timeout=5).ok
    order_id = provision(configurator, xelion, tenant_token, callback=receiver.url).json()["id"]
    assert wait_for_status(configurator, order_id)["status"] == "COMPLETED"
    received = receiver.wait_for(len(expected), timeout=5)
    if not expected:
        time.sleep(0.5)
    assert [status for status, _ in received] == expected
    if mode == "out_of_order":
        assert received[0][1] > received[1][1], "the later mid came first: order by mid, not by arrival"
