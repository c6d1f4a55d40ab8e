"""Strict where the documents are strict: every document sends its request bodies as
`Content-Type: application/json`, so a simulator refuses a body that does not say it is JSON (415,
in the platform's own error shape), as an HTTP API refuses a body it cannot read. A driver that
forgot the header would pass against a lenient simulator and fail against the PBX."""

from __future__ import annotations

import json

import pytest
import requests

from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.sandbox.xelion import MASTER_PASSWORD, XelionServerSimulator

XCU_LOGIN = {"login": "admin", "password": "superpass"}
XELION_LOGIN = {"userName": "admin", "password": MASTER_PASSWORD, "userSpace": "strict"}
XC5_ENVIRONMENT = {"username": "strict.x.co.nz"}


def _calls(base: str):
    """(method, url, body, auth, what a good call answers, how to read a refusal's message)."""
    return {
        "xcu": ("POST", f"{base}/api/1.0/login", XCU_LOGIN, None, 200, lambda r: r.json()["error"]),
        "xelion": (
            "POST",
            f"{base}/api/v1/master/me/login",
            XELION_LOGIN,
            None,
            200,
            lambda r: r.json()["message"],
        ),
        "xc5": (
            "PUT",
            f"{base}/api-sys/account/",
            XC5_ENVIRONMENT,
            (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD),
            201,
            lambda r: json.dumps(r.json()),
        ),
    }


SIMULATORS = {"xcu": XcuSimulator, "xelion": XelionServerSimulator, "xc5": Xc5Simulator}


@pytest.mark.parametrize("name", sorted(SIMULATORS))
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_refused_and_changes_nothing(serve, name, content_type):
    running = serve(SIMULATORS[name]())
    method, url, body, auth, _, message_of = _calls(running.base_url)[name]
    before = running.simulator.snapshot()
    headers = {"Content-Type": content_type} if content_type else {}
    refused = requests.request(method, url, data=json.dumps(body), headers=headers, auth=auth, timeout=5)
    assert refused.status_code == 415, refused.text
    assert "application/json" in message_of(refused)
    after = running.simulator.snapshot()
    after.pop("sessions", None), before.pop("sessions", None)
    assert after == before


@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_the_same_body_declared_json_is_taken(serve, name):
    running = serve(SIMULATORS[name]())
    method, url, body, auth, accepted, _ = _calls(running.base_url)[name]
    assert requests.request(method, url, json=body, auth=auth, timeout=5).status_code == accepted
