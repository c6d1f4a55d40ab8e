"""Every request of the seed "Getting started with Xelion APIs" (xelion-getting-started.txt), run
with real curl against the Xelion server and Park Manager simulators, in the guide's order. Only
what the server must know is filled in (the base URLs with their tenant, the API key, the
credentials of accounts that exist) and the ids the server generated; placeholders that are only
data (`<ACCOUNT>`, `<PASSWORD>`, `<USERNAME>`, `<LABEL>`) are sent as written. Where the guide is
wrong (a path, a stray quote, comments or non-breaking spaces in JSON), the test says so in one
line, shows what its request as written gets, and runs the corrected one.

Seed example → test (the Configurator and CTI examples are out of scope: no simulator yet):

  Authentication, "An example of the JSON payload" (with // comments) → test_login_payload_example_has_comments
  Authentication, "An example of a curl command" (me/login)           → test_login_curl_example
  Park Manager, Authenticatie: curl start-new-tenant?name=<mytenant>  → test_park_manager_curl_example
  Xelion Configurator, Authenticatie: curl organizations/1/           → out of scope
  Examples, Start new Xelion tenant via Park Manager API              → test_examples_end_to_end (1)
  Examples, Creating API session on Xelion Tenant via Park Manager    → test_examples_end_to_end (2)
  Examples, Create Trunk (POST …/users/)                              → test_examples_end_to_end (3)
  Examples, Create Addressable                                        → test_examples_end_to_end (4)
  Examples, Create User (POST …/api/v1/<TENANT>)                      → test_examples_end_to_end (5)
  Examples, Create Phoneline                                          → test_examples_end_to_end (6)
  Examples, Add user to Phoneline (PATCH …/phonelines/2730347')       → test_examples_end_to_end (7)
  Examples, Update Phoneline (PATCH …/phonelines/2730347')            → test_examples_end_to_end (8)

test_parkmanager_simulator.py checks the Park Manager's answers field by field as well."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from telephony.sandbox.parkmanager import RESELLER_API_KEY, ROOT_API_KEY, build_xelion_park
from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME

LOGIN_PAYLOAD_AS_WRITTEN = f"""{{
    "userName": "{MASTER_USERNAME}",
    "password": "{MASTER_PASSWORD}",
    "userSpace": "client-identifier", // For example "Contact Sync 1.0.3"
    "appKey": "integrator-app-key" // For Example ABCA6Jnzw8tFaacte9KEJvcqY3gkGxyz
}}"""
NBSP = "\u00a0"
LOGIN_CURL_BODY_AS_WRITTEN = (
    f'{{\n{NBSP * 4}"userName":{NBSP}"{MASTER_USERNAME}",\n{NBSP * 4}"password":{NBSP}"{MASTER_PASSWORD}",\n'
    f'{NBSP * 4}"userSpace":{NBSP}"client-identifier",\n{NBSP * 4}"appKey":{NBSP}"integrator-app-key"\n}}'
)
ADDRESSABLE_AS_WRITTEN = f'{{\n{NBSP * 4}"objectType":"Person",\n{NBSP * 4}"commonName":"Mark van Dam"\n}}'
XELION_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def curl(*arguments: str) -> tuple[int, str]:
    """curl as the guide writes it (plus -sS and the status on a last line)."""
    command = ["curl", "-sS", "--noproxy", "*", "-w", "\n%{http_code}", *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=20)
    text, _, status = completed.stdout.rpartition("\n")
    return int(status), text


def with_token(token: str, method: str, url: str, body: str | None = None) -> tuple[int, str]:
    """A call of the Examples section: "Authorisation must be added to the HTTP header"."""
    arguments = ["-X", method, url, "--header", f"Authorization: xelion {token}"]
    if body is not None:
        arguments += ["--header", "Content-Type: application/json", "--data", body]
    return curl(*arguments)


@pytest.fixture
def park(serve):
    server, pm = build_xelion_park()
    return server, serve(server).base_url, serve(pm).base_url


def test_login_payload_example_has_comments(park):
    _server, base, _pm = park
    url = f"{base}/api/v1/master/me/login"
    # The guide's JSON payload carries // comments, which JSON has not: as written it is refused.
    status, text = curl(url, "--header", "Content-Type: application/json", "--data", LOGIN_PAYLOAD_AS_WRITTEN)
    assert (status, json.loads(text)["errorCode"]) == (400, 10202)
    corrected = re.sub(r" // .*", "", LOGIN_PAYLOAD_AS_WRITTEN)
    status, text = curl(url, "--header", "Content-Type: application/json", "--data", corrected)
    assert status == 200 and json.loads(text)["authentication"]


def test_login_curl_example(park):
    _server, base, _pm = park
    url = f"{base}/api/v1/master/me/login"
    # The guide spaces this command with non-breaking spaces (a web page's): no shell splits on them
    # and JSON refuses them in the body, so it runs as written only with plain spaces.
    status, text = curl(url, "--header", "Content-Type: application/json", "--data", LOGIN_CURL_BODY_AS_WRITTEN)
    assert (status, json.loads(text)["errorCode"]) == (400, 10202)
    corrected = LOGIN_CURL_BODY_AS_WRITTEN.replace(NBSP, " ")
    status, text = curl(url, "--header", "Content-Type: application/json", "--data", corrected)
    assert status == 200
    answer = json.loads(text)
    documented = {"authentication", "renewalToken", "validUntil", "version", "serverVersion", "buildNumber"}
    assert documented <= set(answer) <= documented | {"brand"}  # brand: backend-api-facts.md
    assert XELION_DATE.match(answer["validUntil"]) and answer["version"] == "1.1"


def test_park_manager_curl_example(park):
    server, _base, pm = park
    status, text = curl(
        "-X",
        "POST",
        f"{pm}/api/v1/park/start-new-tenant?name=mytenant",
        "-H",
        "accept: application/json",
        "-H",
        f"X-Auth-Key: {ROOT_API_KEY}",
    )
    assert status == 200 and json.loads(text)["tenant"]["subDatabaseName"] == "mytenant"
    assert server.tenant_by_name("mytenant")["status"] == "STARTED"


def test_examples_end_to_end(park):
    server, _base, pm = park
    # (1) Start new Xelion tenant via Park Manager API (a reseller's key: organisation 2 owns it)
    status, text = curl(
        "-X",
        "POST",
        f"{pm}/api/v1/park/start-new-tenant?name=company&requestedLicenses=42&label=<LABEL>",
        "-H",
        f"X-Auth-Key: {RESELLER_API_KEY}",
    )
    assert status == 200
    started = json.loads(text)
    assert set(started) == {"response", "server", "tenant"}
    assert (started["tenant"]["label"], started["tenant"]["licenses"][0]["maxLicenses"]) == ("<LABEL>", 42)

    # (2) Creating API session on Xelion Tenant via Park Manager API (the root acting as organisation 2)
    status, text = curl(
        "-X",
        "POST",
        f"{pm}/api/v2/tenants/{started['tenant']['id']}/login",
        "-H",
        "accept: application/json",
        "-H",
        "X-As-Organization: 2",
        "-H",
        f"X-Auth-Key: {ROOT_API_KEY}",
    )
    assert status == 200
    session = json.loads(text)
    assert ISO_MILLIS.match(session["validUntil"]) and session["tenant"] == "company"
    token, tenant_url = session["authentication"], f"http://{session['host']}/api/v1/{session['tenant']}"

    # (3) Create Trunk
    trunk = """{
    "providerName": "SipTrunk",
    "host": "sip.trunk.com",
    "account": "<ACCOUNT>",
    "password": "<PASSWORD>",
    "assignedNumbers": [
      {
        "extension": {
          "address": "+31123456789"
        },
        "useAsCallerId": true,
        "orderNumber": 1
      }
    ],
    "useAsFallback": true,
    "supportsSenderId": true,
    "useDiversionHeader": true,
    "defaultNormalization": "plusPrefix",
    "commonName": "SipTrunk",
    "objectType": "XCCTrunk"
}"""
    # The guide posts the trunk to users/, the collection of UserProfiles, which refuses it: trunks/ takes it.
    status, text = with_token(token, "POST", f"{tenant_url}/users/", trunk)
    assert (status, json.loads(text)["errorCode"]) == (400, 10203)
    status, text = with_token(token, "POST", f"{tenant_url}/trunks/", trunk)
    assert status == 200
    made = json.loads(text)["object"]
    assert (made["providerName"], made["commonName"], made["account"]) == ("company_SipTrunk",) * 2 + ("<ACCOUNT>",)
    number = made["assignedNumbers"][0]
    assert (number["objectType"], number["orderNumber"], number["useAsCallerId"]) == ("XCCTrunkExtension", 1, True)
    assert number["extension"]["address"] == "+31123456789" and number["extension"]["addressType"] == "Telephone"

    # (4) Create Addressable
    # The guide indents this body with non-breaking spaces, which JSON refuses: plain spaces work.
    status, text = with_token(token, "POST", f"{tenant_url}/addressables", ADDRESSABLE_AS_WRITTEN)
    assert (status, json.loads(text)["errorCode"]) == (400, 10202)
    status, text = with_token(token, "POST", f"{tenant_url}/addressables", ADDRESSABLE_AS_WRITTEN.replace(NBSP, " "))
    assert status == 200
    person = json.loads(text)["object"]
    # The guide answers familyName "Mark", which reads as a typo: the sandbox splits the name.
    assert (person["initials"], person["givenName"], person["familyName"]) == ("M.", "Mark", "van Dam")
    assert person["commonName"] == "Mark van Dam" and person["oid"].isdigit()

    # (5) Create User, with the oid of (4)
    user = f"""{{
    "userName": "<USERNAME>",
    "password": "<PASSWORD>",
    "active": true,
    "xccRole": "user",
    "person": {{
      "oid": "{person["oid"]}",
      "objectType": "Person"
    }},
    "userLicense": true,
    "commonName": "Mark van Dam",
    "objectType": "UserProfile"
}}"""
    # The guide posts the user to the tenant's root, which is no collection: users takes it.
    status, text = with_token(token, "POST", tenant_url, user)
    assert (status, json.loads(text)["errorCode"]) == (404, 10100)
    status, text = with_token(token, "POST", f"{tenant_url}/users", user)
    assert status == 200
    profile = json.loads(text)["object"]
    assert (profile["userName"], profile["userLicense"], profile["active"]) == ("<USERNAME>", True, True)
    assert profile["person"]["oid"] == person["oid"] and profile["xccRole"] == "user"
    line = profile["primaryLine"]
    assert line["objectType"] == "XCCPhoneLine" and line["associatedAddressable"]["oid"] == person["oid"]
    assert line["users"][0]["user"]["oid"] == profile["oid"] and line["users"][0]["objectType"] == "XCCConnectedUser"
    assert line["userPhoneLine"]["objectType"] == "XCCUserPhoneLine"
    assert profile["phones"][0]["commonName"] == "Mark van Dam (Softphone)"
    assert profile["lines"][0]["line"]["oid"] == line["oid"] and profile["locale"]["objectType"] == "Locale"
    assert profile["preferences"]["objectType"] == "UserPreferences" and profile["loginFailures"] == 0

    # (6) Create Phoneline
    phoneline = """{
    "externalNumber": "0123456789",
    "callerName": "Sales",
    "extensions": [
      {
        "address": "333",
        "objectType": "TelecomAddress"
      }
    ],
    "commonName": "Sales",
    "objectType": "XCCPhoneLine",
    "changeType": "Created"
}"""
    status, text = with_token(token, "POST", f"{tenant_url}/phonelines/", phoneline)
    assert status == 200
    sales = json.loads(text)["object"]
    # the guide's "Sales (2)" comes from a tenant that had a "Sales" already; this one has none
    assert (sales["commonName"], sales["callerName"], sales["externalNumber"]) == ("Sales", "Sales", "0123456789")
    assert [(e["address"], e["orderNumber"], e["objectType"]) for e in sales["extensions"]] == [
        ("333", 1, "TelecomAddress")
    ]
    assert sales["users"] == [] and sales["phones"] == []

    # (7) Add user to Phoneline, with the oids of (6) and (5)
    add_user = f"""{{
    "operations": [
        {{
            "op": "add",
            "path": "/users/1",
            "value": "{profile["oid"]}"
        }}
    ]
}}"""
    # The guide's URL ends in a stray quote (phonelines/2730347'), which is no oid: without it, it works.
    status, text = with_token(token, "PATCH", f"{tenant_url}/phonelines/{sales['oid']}'", add_user)
    assert (status, json.loads(text)["errorCode"]) == (400, 10203)
    assert with_token(token, "PATCH", f"{tenant_url}/phonelines/{sales['oid']}", add_user) == (200, "1")

    # (8) Update Phoneline (the same stray quote in the guide's URL)
    forward = """{
    "operations": [
        {
            "op": "replace",
            "path": "/commonName",
            "value": "External forward to 0612345678"
        },
        {
            "op": "replace",
            "path": "/callerName",
            "value": "External forward to 0612345678"
        },
        {
            "op": "replace",
            "path": "/userPhoneLine/redirectionActive",
            "value": true
        },
        {
            "op": "replace",
            "path": "/userPhoneLine/redirection",
            "value": "0612345678"
        }
    ]
}"""
    assert with_token(token, "PATCH", f"{tenant_url}/phonelines/{sales['oid']}", forward) == (200, "1")
    status, text = with_token(token, "GET", f"{tenant_url}/phonelines/{sales['oid']}")
    updated = json.loads(text)
    assert updated["links"] == [{"rel": "self", "href": f"{tenant_url}/phonelines/{sales['oid']}", "method": "GET"}]
    assert updated["object"]["commonName"] == updated["object"]["callerName"] == "External forward to 0612345678"
    assert updated["object"]["userPhoneLine"]["redirectionActive"] is True
    assert updated["object"]["userPhoneLine"]["redirection"] == "0612345678"
    assert [rel["user"]["oid"] for rel in updated["object"]["users"]] == [profile["oid"]]
    assert server.tenant_by_name("company")["licenses"] == 42
