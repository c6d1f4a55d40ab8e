"""The Xelion server simulator over real HTTP: sessions (login, renew, logout, 10005, expiry), the
master tenant's API, faults and the control endpoints. The seed's examples are replayed in
test_xelion_seed_examples.py."""

from __future__ import annotations

import pytest
import requests

from telephony.sandbox.xelion import MASTER_PASSWORD, XelionServerSimulator
from tests.telephony.sandbox.xelion_api import Api, error_of, logged_in_master, started_tenant


@pytest.fixture
def sim():
    return XelionServerSimulator()


@pytest.fixture
def base_url(serve, sim):
    return serve(sim).base_url


@pytest.fixture
def master(base_url):
    return logged_in_master(base_url)


@pytest.fixture
def tenant(master):
    """A started tenant `acme` (50 licences), logged in with its own admin."""
    return started_tenant(master)


def test_login_errors(base_url, master):
    url = f"{base_url}/api/v1/master/me/login"
    assert error_of(requests.post(url, json={"password": "x", "userSpace": "s"}, timeout=5)) == (400, 10002)
    assert error_of(requests.post(url, json={"userName": "admin", "userSpace": "s"}, timeout=5)) == (400, 10003)
    assert error_of(requests.post(url, json={"userName": "admin", "password": MASTER_PASSWORD}, timeout=5)) == (
        400,
        10202,
    )
    too_long = {"userName": "admin", "password": MASTER_PASSWORD, "userSpace": "s" * 201}
    assert error_of(requests.post(url, json=too_long, timeout=5)) == (400, 10202)
    wrong = requests.post(url, json={"userName": "admin", "password": "nope", "userSpace": "s"}, timeout=5)
    assert error_of(wrong) == (401, 10004)
    assert wrong.json()["message"] == "Wrong user name, password or tenant"
    assert wrong.json()["info"] == "resource=POST /api/v1/master/me/login"
    assert error_of(requests.post(url, data=b"", timeout=5)) == (400, 10200)
    assert error_of(Api(base_url, "nosuchtenant").login()) == (401, 10004)


def test_second_login_with_same_user_space_is_refused_until_logout(base_url):
    first, second = Api(base_url), Api(base_url)
    assert first.login(space="worker").status_code == 200
    assert error_of(second.login(space="worker")) == (401, 10005)
    assert second.login(space="another worker").status_code == 200
    assert first.call("POST", "me/logout").status_code == 204
    assert error_of(first.call("GET", "users")) == (401, 10000)
    assert Api(base_url).login(space="worker").status_code == 200


def test_expired_session_no_longer_blocks_a_login(sim, base_url):
    sim.set_faults({"session_expiry_calls": 2})
    api = Api(base_url)
    api.login(space="w")
    assert api.call("GET", "users").status_code == 200
    assert api.call("GET", "users").status_code == 200
    assert error_of(api.call("GET", "users")) == (401, 10000)
    assert Api(base_url).login(space="w").status_code == 200


def test_missing_or_foreign_token_is_401_10000(master, tenant):
    assert error_of(requests.get(master.url("users"), timeout=5)) == (401, 10000)
    assert error_of(requests.get(master.url("users"), headers={"Authorization": "Bearer x"}, timeout=5)) == (401, 10000)
    foreign = requests.get(master.url("users"), headers={"Authorization": f"xelion {tenant.token}"}, timeout=5)
    assert error_of(foreign) == (401, 10000)


def test_renew_rotates_the_renewal_token(base_url):
    login = requests.post(
        f"{base_url}/api/v1/master/me/login",
        json={"userName": "admin", "password": MASTER_PASSWORD, "userSpace": "r"},
        timeout=5,
    ).json()
    renew_url = f"{base_url}/api/v1/master/me/renew"
    old = {"Authorization": f"xelion {login['authentication']}"}
    renewed = requests.post(renew_url, json=login["renewalToken"], headers=old, timeout=5)
    assert renewed.status_code == 200
    fresh = renewed.json()
    assert set(fresh) == {"authentication", "renewalToken", "validUntil"}
    assert fresh["renewalToken"] != login["renewalToken"] and fresh["authentication"] != login["authentication"]
    new = {"Authorization": f"xelion {fresh['authentication']}"}
    assert error_of(requests.get(f"{base_url}/api/v1/master/users", headers=old, timeout=5)) == (401, 10000)
    assert error_of(requests.post(renew_url, json=login["renewalToken"], headers=new, timeout=5)) == (
        401,
        10020,
    )
    assert error_of(requests.post(renew_url, json={"token": fresh["renewalToken"]}, headers=new, timeout=5)) == (
        400,
        10202,
    )
    by_password = requests.post(renew_url, json=MASTER_PASSWORD, headers=new, timeout=5)
    assert by_password.status_code == 200


def test_master_tenant_start_errors(sim, master, tenant, base_url):
    database_id = master.call("GET", "tenants", params={"where": "name=acme", "include": "databaseId"}).json()["data"][
        0
    ]["object"]["databaseId"]
    assert error_of(master.call("POST", f"tenants/{database_id}/start")) == (400, 10062)
    assert error_of(tenant.call("POST", f"tenants/{database_id}/start")) == (400, 10063)
    parked = master.call("GET", "tenants", params={"where": "status=PARKED", "include": "databaseId"}).json()["data"][
        0
    ]["object"]
    assert error_of(master.call("POST", f"tenants/{parked['databaseId']}/start")) == (400, 10074)
    assert error_of(master.call("POST", "tenants/999/start")) == (404, 10100)
    assert master.call("POST", f"tenants/{database_id}/stop").json()["object"]["status"] == "STOPPED"
    assert error_of(tenant.call("GET", "users")) == (401, 10000)  # stopping ends the tenant's sessions
    assert error_of(Api(base_url, "acme").login("admin", "acme-admin")) == (401, 10004)
    assert Api(base_url, "acme").login("admin", MASTER_PASSWORD).status_code == 401


def test_no_multi_tenant_setup_answers_10060(serve):
    single = serve(XelionServerSimulator(multi_tenant=False)).base_url
    api = Api(single)
    api.login()
    assert error_of(api.call("POST", "tenants/1/start")) == (404, 10060)


def test_tenant_creation_rules_and_capacity(serve):
    api = Api(serve(XelionServerSimulator(capacity_tenants=4)).base_url)
    api.login()
    assert api.create("tenants", {"name": "one"})["status"] == "STOPPED"  # 3 parked + 1
    assert error_of(api.call("POST", "tenants", json={"name": "two"})) == (400, 10202)
    assert error_of(api.call("POST", "tenants", json={"name": "one"})) == (500, 11000)
    assert error_of(api.call("POST", "tenants", json={"name": "Bad Name"})) == (400, 10202)


def test_platform_credentials_log_in_to_every_tenant(tenant, base_url):
    platform = Api(base_url, "acme")
    assert platform.login("admin", MASTER_PASSWORD, space="platform").status_code == 200
    assert platform.call("GET", "users").status_code == 200


def test_injected_faults_answer_in_xelion_error_format(sim, master):
    sim.set_faults({"rate_limit_rate": 1.0})
    assert error_of(master.call("GET", "users")) == (429, 10400)
    sim.set_faults({"rate_limit_rate": 0.0, "error_rate": 1.0})
    assert error_of(master.call("GET", "users")) == (500, 11000)
    sim.set_faults({"error_rate": 0.0})
    assert master.call("GET", "users").status_code == 200


def test_patch_answer_switch_over_control_endpoint(sim, base_url):
    assert requests.put(f"{base_url}/_sandbox/xelion/patch-answer", json={"answer": "empty"}, timeout=5).json() == {
        "answer": "empty"
    }
    assert sim.patch_answer == "empty"
    assert (
        requests.put(f"{base_url}/_sandbox/xelion/patch-answer", json={"answer": "two"}, timeout=5).status_code == 400
    )


def test_reset_and_sandbox_state(sim, tenant, base_url):
    state = requests.get(f"{base_url}/_sandbox/state", timeout=5).json()["state"]
    assert {t["name"] for t in state["tenants"].values()} == {"master", "parked-1", "parked-2", "parked-3", "acme"}
    requests.post(f"{base_url}/_sandbox/reset", timeout=5)
    assert error_of(tenant.call("GET", "users")) == (401, 10000)
    assert sim.tenant_by_name("acme") is None
