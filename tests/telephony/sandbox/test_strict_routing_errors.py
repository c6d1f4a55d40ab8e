"""Strict where the documents are strict: an unknown path (404) or a method a path does not take
(405) answers in the platform's own error shape, the same as its other refusals, so a client that
reads errors one way reads these too.

- Xelion: `{"errorCode", "message", "info": "resource=<METHOD> <path>"}` (backend-api-facts.md).
- XC5-XS: always an array, `[{"error": "invalid path"}]` (the seed's `GET /api-sys/x`).
- XCU: `{"error": "<message>"}` (the document shows no error; the simulator's one shape).
- Park Manager: a Spring error `{"status", "error", "message", "path"}` (the documents show none).
A 405 names the methods the path takes in `Allow`, as HTTP requires."""

from __future__ import annotations

import pytest
import requests

from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.sandbox.xelion import XelionServerSimulator


def call(method: str, url: str, **kwargs) -> requests.Response:
    return requests.request(method, url, timeout=5, **kwargs)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/master", "/api/v2/master/users", "/nothing"],  # no object path, another version, outside the API
)
def test_xelion_unknown_path(serve, path):
    base = serve(XelionServerSimulator()).base_url
    answer = call("GET", base + path)
    assert answer.status_code == 404
    assert answer.json() == {"errorCode": 10100, "message": "invalid path", "info": f"resource=GET {path}"}


def test_xelion_wrong_method(serve):
    base = serve(XelionServerSimulator()).base_url
    answer = call("OPTIONS", f"{base}/api/v1/master/users")
    assert answer.status_code == 405
    assert answer.json() == {
        "errorCode": 10202,
        "message": "method not allowed",
        "info": "resource=OPTIONS /api/v1/master/users",
    }
    assert {"GET", "POST", "PATCH", "DELETE", "PUT"} <= set(answer.headers["Allow"].split(", "))


def test_xelion_injected_faults_name_the_request_too(serve):
    simulator = XelionServerSimulator()
    base = serve(simulator).base_url
    simulator.set_faults({"error_rate": 1.0})
    answer = call("GET", f"{base}/api/v1/master/users")
    assert answer.status_code == 500
    assert answer.json()["errorCode"] == 11000 and answer.json()["info"] == "resource=GET /api/v1/master/users"


@pytest.mark.parametrize("path", ["/api-sys/x", "/elsewhere"])
def test_xc5_unknown_path(serve, path):
    base = serve(Xc5Simulator()).base_url
    answer = call("GET", base + path, auth=(SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD))
    assert (answer.status_code, answer.headers["Content-Type"]) == (404, "application/hal+json")
    assert answer.json() == [{"error": "invalid path"}]


def test_xc5_wrong_method(serve):
    base = serve(Xc5Simulator()).base_url
    answer = call("POST", f"{base}/api-sys/account", auth=(SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD), json={})
    assert (answer.status_code, answer.headers["Content-Type"]) == (405, "application/hal+json")
    assert answer.json() == [{"error": "method not allowed"}]
    assert answer.headers["Allow"] == "GET, PUT, OPTIONS"


def test_xcu_unknown_path(serve):
    base = serve(XcuSimulator()).base_url
    answer = call("GET", f"{base}/api/1.0/nothing")
    assert (answer.status_code, answer.json()) == (404, {"error": "invalid path"})


def test_xcu_wrong_method(serve):
    base = serve(XcuSimulator()).base_url
    answer = call("DELETE", f"{base}/api/1.0/xivo")
    assert (answer.status_code, answer.json()) == (405, {"error": "method not allowed"})
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.fixture
def pm_url(serve):
    server, pm = build_xelion_park()
    serve(server)
    return serve(pm).base_url


def test_park_manager_unknown_path(pm_url):
    answer = call("GET", f"{pm_url}/api/v2/nothing", headers={"X-Auth-Key": ROOT_API_KEY})
    assert answer.status_code == 404
    assert answer.json() == {"status": 404, "error": "Not Found", "message": "invalid path", "path": "/api/v2/nothing"}


def test_park_manager_wrong_method(pm_url):
    answer = call("GET", f"{pm_url}/api/v1/park/start-new-tenant", headers={"X-Auth-Key": ROOT_API_KEY})
    assert answer.status_code == 405
    assert answer.json() == {
        "status": 405,
        "error": "Method Not Allowed",
        "message": "method not allowed",
        "path": "/api/v1/park/start-new-tenant",
    }
    assert answer.headers["Allow"] == "POST"
