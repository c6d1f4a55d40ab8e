"""The Xelion CTI simulator over real HTTP: the seed's own integration example, user credentials for
100 users checked against the Xelion simulator, secrets never answered, a tenant's token reaching
only its own integration, a token that ends mid-sequence, and placeholders kept verbatim."""

from __future__ import annotations

import copy

import pytest
import requests

from telephony.sandbox.cti import CtiSimulator
from telephony.sandbox.xelion import XelionServerSimulator
from telephony.sandbox.xelion_tenants import STARTED, tenant_admin_password

HOST = "xelion.sandbox.invalid"
SEED_INTEGRATION = {
    "xelionContext": {"adminUsername": "admin", "adminPassword": "", "host": HOST, "tenant": "", "protocol": "http"},
    "crmContext": {"authorizationServerUri": "https://example.org/services/oauth2/token",
                   "authorizationHeaderPrefix": "Bearer "},
    "userCredentials": [{"xelionUsername": "user1", "clientId": "xxxxxxx", "clientSecret": "yyyyyyyy",
                         "deviceCode": "zzzzzzzz", "refreshToken": "aaaaaaaa"}],
    "eventUriMappings": [
        {"xelionEvent": event, "crmResourceUri": "https://example.org/services/apexrest/Call",
         "crmResourcePayload": {"initiation": '${(initiation=="outgoing")?"calldialed":"callreceived"}',
                                "to": "${calleePhoneNumber}", "callId": "${callId}", "eventType": event}}
        for event in ("newCallEvent", "callConnectedEvent", "callHungUpEvent", "missedCallEvent")
    ],
}  # fmt: skip


def tenant_with_users(simulator, name, count):
    tenant = simulator.create_named_tenant(name, licenses=count + 5)
    tenant["status"] = STARTED
    objects = simulator.objects_of(tenant)
    for n in range(1, count + 1):
        person = objects.create_person({"givenName": f"User{n}", "familyName": name})
        objects.create_user({"userName": f"user{n}", "person": {"oid": person["oid"], "objectType": "Person"}})
    return tenant


@pytest.fixture
def cti(serve):
    xelion = XelionServerSimulator()
    tenant_with_users(xelion, "acme", 100)
    tenant_with_users(xelion, "globex", 2)
    return serve(CtiSimulator(xelion))


def integration_for(tenant):
    body = copy.deepcopy(SEED_INTEGRATION)
    body["xelionContext"].update(tenant=tenant, adminPassword=tenant_admin_password(tenant))
    return body


def session_on(cti, tenant):
    login = {"adminUsername": "admin", "adminPassword": tenant_admin_password(tenant), "host": HOST, "tenant": tenant}
    answer = requests.post(f"{cti.base_url}/api/session/login", json=login, timeout=5)
    assert answer.ok, answer.text
    assert set(answer.json()) == {"authentication", "validUntil"}
    session = requests.Session()
    session.headers["Authorization"] = f"xelion {answer.json()['authentication']}"
    session.url = lambda path: f"{cti.base_url}/api/{path}"
    return session


def test_the_seed_integration_is_created_found_and_deleted(cti):
    made = requests.post(f"{cti.base_url}/api/crm-integrations", json=integration_for("acme"), timeout=5)
    assert made.ok, made.text
    xid, cid = made.json()["xelionContext"]["id"], made.json()["crmContext"]["id"]
    assert "adminPassword" not in made.text and tenant_admin_password("acme") not in made.text
    api = session_on(cti, "acme")
    found = api.get(api.url("crm-integrations"), params={"xelionHost": HOST, "xelionTenant": "acme"})
    assert found.json()["xelionContext"]["id"] == xid
    mappings = api.get(api.url(f"crm-integrations/{xid}/crm-contexts/{cid}/event-uri-mappings")).json()
    assert mappings[0]["crmResourcePayload"]["initiation"] == '${(initiation=="outgoing")?"calldialed":"callreceived"}'
    assert api.delete(api.url(f"crm-integrations/{xid}")).ok
    assert api.get(api.url("crm-integrations"), params={"xelionHost": HOST, "xelionTenant": "acme"}).status_code == 404


def test_a_wrong_admin_password_creates_nothing(cti):
    body = integration_for("acme")
    body["xelionContext"]["adminPassword"] = "wrong"
    assert requests.post(f"{cti.base_url}/api/crm-integrations", json=body, timeout=5).status_code == 401


def test_credentials_for_a_hundred_users_and_never_a_secret_back(cti):
    made = requests.post(f"{cti.base_url}/api/crm-integrations", json=integration_for("acme"), timeout=5).json()
    xid, cid = made["xelionContext"]["id"], made["crmContext"]["id"]
    api = session_on(cti, "acme")
    url = api.url(f"crm-integrations/{xid}/crm-contexts/{cid}/user-credentials")
    for n in range(2, 101):
        one = [{"xelionUsername": f"user{n}", "clientId": f"id{n}", "clientSecret": f"secret-{n}"}]
        answer = api.post(url, json=one)
        assert answer.ok and answer.json()["xelionUsername"] == f"user{n}"
    listed = api.get(url).json()
    assert len(listed) == 100 and "secret-" not in api.get(url).text
    [ann] = api.get(url, params={"username": "user42"}).json()
    assert api.get(url, params={"oid": ann["xelionOid"]}).json() == [ann]
    assert api.post(url, json=[{"xelionUsername": "nobody"}]).status_code == 500, "not on the Xelion tenant"
    unknown = api.url(f"crm-integrations/{xid}/crm-contexts/{cid + 999}/user-credentials")
    assert api.post(unknown, json=[{"xelionUsername": "user1"}]).status_code == 404
    user_id = ann["userCredentialsId"]
    for kind in ("clientid", "clientsecret", "refreshtoken", "devicecode"):
        assert api.post(api.url(f"users/{user_id}/{kind}/update"), json={"value": "new"}).ok
    assert api.post(api.url(f"users/{user_id}/password/update"), json={"value": "x"}).status_code == 404
    assert api.get(api.url(f"users/{user_id}")).json() == {"xelionOid": ann["xelionOid"], "xelionUsername": "user42"}
    assert api.delete(api.url(f"users/{user_id}")).ok
    assert api.get(api.url(f"users/{user_id}")).status_code == 404


def test_a_tenants_token_reaches_only_its_own_integration(cti):
    acme = requests.post(f"{cti.base_url}/api/crm-integrations", json=integration_for("acme"), timeout=5).json()
    globex = session_on(cti, "globex")
    xid, cid = acme["xelionContext"]["id"], acme["crmContext"]["id"]
    assert globex.get(globex.url(f"xelion-environment/{xid}")).status_code == 404
    assert globex.get(globex.url(f"crm-integrations/{xid}/crm-contexts/{cid}/user-credentials")).status_code == 404
    assert globex.delete(globex.url(f"crm-integrations/{xid}")).status_code == 404
    found = globex.get(globex.url("crm-integrations"), params={"xelionHost": HOST, "xelionTenant": "acme"})
    assert found.status_code == 404


def test_the_environment_and_its_administrator_change(cti):
    made = requests.post(f"{cti.base_url}/api/crm-integrations", json=integration_for("acme"), timeout=5).json()
    api, xid = session_on(cti, "acme"), made["xelionContext"]["id"]
    assert api.put(api.url(f"xelion-environment/{xid}"), json={"host": "new.invalid", "protocol": "https"}).ok
    assert api.get(api.url(f"xelion-environment/{xid}")).json() == {
        "host": "new.invalid",
        "protocol": "https",
        "tenant": "acme",
    }
    change = {"oldPassword": tenant_admin_password("acme"), "newPassword": "n3w"}
    assert api.post(api.url(f"xelion-environment/{xid}/admin/password/update"), json=change).ok
    assert api.post(api.url(f"xelion-environment/{xid}/admin/password/update"), json=change).status_code == 400
    rename = {"oldUsername": "admin", "newUsername": "crm-admin"}
    assert api.post(api.url(f"xelion-environment/{xid}/admin/username/update"), json=rename).ok


def test_mappings_are_replaced_one_for_one_and_unknown_events_refused(cti):
    made = requests.post(f"{cti.base_url}/api/crm-integrations", json=integration_for("acme"), timeout=5).json()
    api = session_on(cti, "acme")
    url = api.url(f"crm-integrations/{made['xelionContext']['id']}/crm-contexts/{made['crmContext']['id']}/"
                  "event-uri-mappings")  # fmt: skip
    current = api.get(url).json()
    replaced = [{"xelionEvent": m["xelionEvent"], "crmResourceUri": "https://crm.example/${callId}",
                 "crmResourcePayload": None} for m in current]  # fmt: skip
    assert api.put(url, json=replaced).ok
    assert {m["crmResourceUri"] for m in api.get(url).json()} == {"https://crm.example/${callId}"}
    assert api.put(url, json=replaced[:2]).status_code == 400, "as many as there are"
    replaced[0]["xelionEvent"] = "smsEvent"
    assert api.put(url, json=replaced).status_code == 400


def test_a_token_that_ends_mid_sequence_is_refused_until_a_new_login(cti):
    made = requests.post(f"{cti.base_url}/api/crm-integrations", json=integration_for("acme"), timeout=5).json()
    cti.simulator.set_faults({"session_expiry_calls": 2})
    api, xid = session_on(cti, "acme"), made["xelionContext"]["id"]
    assert api.get(api.url(f"xelion-environment/{xid}")).ok
    assert api.get(api.url(f"xelion-environment/{xid}")).ok
    assert api.get(api.url(f"xelion-environment/{xid}")).status_code == 401
    assert session_on(cti, "acme").get(api.url(f"xelion-environment/{xid}")).ok


def test_an_app_context_and_an_external_call(cti):
    api = session_on(cti, "acme")
    app = {"appExternalApiContext": {"authorizationServerUri": "https://auth.example/token",
                                     "authorizationHeaderPrefix": "Bearer "},
           "appUserContext": {"clientId": "c", "xelionUsername": "user1", "refreshToken": "r"},
           "appXelionContext": {"host": HOST, "tenant": "acme"}}  # fmt: skip
    assert api.post(api.url("cti-app-context"), json=app).ok
    call = {"appXelionContext": {"host": HOST, "tenant": "acme"}, "xelionUsername": "user1",
            "endpointContext": {"authorizationServerUri": "https://auth.example/token", "method": "POST",
                                "endpointUri": "https://crm.example/endpoint", "payload": {"q": 1}}}  # fmt: skip
    answer = requests.post(api.url("external-api-endpoint/call"), json=call, timeout=5,
                           headers={"Authorization": "xelion_cti access-1"})  # fmt: skip
    assert answer.ok and answer.json()["accessToken"] == "access-1"
    assert requests.post(api.url("external-api-endpoint/call"), json=call, timeout=5).status_code == 401
