"""Every request of the XC5-XS seed (xc5-xs-system-provisioning.txt) run against the XC5 sandbox:
the API usage examples, then the "business vPBX example" in order, each body verbatim (as `exec
API '<METHOD> <path>', '<json>'`), checking the answers. Only the base URL, the credentials and the
guids the server generated are substituted; where the seed is wrong, the test says so in one line.

Seed example → test:

  Access: GET https://user:pass@example.com/api-sys/                → test_api_usage_examples
  Access: GET /api-sys/ with "Authorisation: Basic dXNlcjpwYXNz"     → test_api_usage_examples
  Paths: GET /api-sys/account                                      → test_api_usage_examples
  Paths: GET /api-sys/account/<guid>                               → test_api_usage_examples
  Paths: GET /api-sys/account/alice@example.net                    → test_api_usage_examples
  Paths: GET /api-sys/account/<guid>/number (and its answer)       → test_api_usage_examples
  Paths: GET /api-sys/account/<guid>/number/<guid>                 → test_api_usage_examples
  Requests: PUT …/number/<guid>?patch=true { "alert-info":null }   → test_api_usage_examples
  Responses: GET /api-sys/x → 404 [{"error": "invalid path"}]      → test_api_usage_examples
  The API index: GET /api-sys/                                     → test_api_usage_examples
  Path specific Documentation: OPTIONS /api-sys/account/*/number   → test_api_usage_examples
  Business vPBX example, all 40 `exec API` requests, in order      → test_business_vpbx_example
  Account setup with basic options: PUT /api-sys/HydraAccount/…    → test_business_vpbx_example
  GET, DELETE /api-sys/hydraaccount/6499878037, OPTIONS …/hydraaccount → test_business_vpbx_example
"""

import base64
import io
import subprocess
import wave
from urllib.parse import urlsplit

import pytest
import requests

from telephony.sandbox.xc5 import (
    SEED_NUMBER_GUIDS,
    SHARED_PIN_PROMPT,
    SYSTEM_API_PASSWORD,
    SYSTEM_API_USERNAME,
    Xc5Simulator,
)


@pytest.fixture
def exec_api(serve):
    base = serve(Xc5Simulator()).base_url

    def call(request_line, body=None, *, status=200, **kwargs):
        method, path = request_line.split(" ", 1)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        response = requests.request(
            method,
            base + path,
            data=body,
            headers=headers,
            auth=(SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD),
            timeout=5,
            **kwargs,
        )
        assert response.status_code == status, f"{request_line}: {response.status_code} {response.text}"
        assert response.headers["Content-Type"] == "application/hal+json"
        records = response.json()
        assert isinstance(records, list)
        return records

    return call


def test_api_usage_examples(serve):
    base = serve(Xc5Simulator()).base_url
    auth = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    # Access: basic auth on the request line, as "most clients" allow
    netloc = urlsplit(base).netloc
    in_url = f"http://{SYSTEM_API_USERNAME}:{SYSTEM_API_PASSWORD}@{netloc}/api-sys/"
    shown = subprocess.run(["curl", "-sS", "--noproxy", "*", in_url], capture_output=True, text=True, check=True)
    assert '"api_access": "system"' in shown.stdout
    # The seed spells the header it sends "Authorisation"; HTTP's is "Authorization", and only it authenticates.
    token = base64.b64encode(f"{SYSTEM_API_USERNAME}:{SYSTEM_API_PASSWORD}".encode()).decode()
    misspelt = requests.get(f"{base}/api-sys/", headers={"Authorisation": f"Basic {token}"}, timeout=5)
    assert (misspelt.status_code, misspelt.json()) == (401, [{"error": "authentication required"}])
    assert requests.get(f"{base}/api-sys/", headers={"Authorization": f"Basic {token}"}, timeout=5).status_code == 200

    def api(path, **kwargs):
        answer = requests.request(kwargs.pop("method", "GET"), f"{base}/api-sys/{path}", auth=auth, timeout=5, **kwargs)
        assert answer.headers["Content-Type"] == "application/hal+json"
        return answer.status_code, answer.json()

    # set-up for the Paths examples: alice@example.net, and dave@dcom holding the seed's number E6134D37-…
    for path, username in (("account/", "example.net"), ("account/example.net/child", "alice@example.net")):
        assert api(path, method="PUT", json={"username": username})[0] == 201
    api("account/", method="PUT", json={"username": "dcom"})
    status, [dave] = api("account/dcom/child", method="PUT", json={"username": "dave@dcom"})
    number_guid = SEED_NUMBER_GUIDS["6499740205"]
    assert number_guid == "E6134D37-104E-4320-AEE8-030300F3BF1A"
    api(f"account/{dave['guid']}/number/{number_guid}", method="PUT")
    api(f"account/{dave['guid']}/number/{number_guid}", method="PATCH", json={"alert-info": "dr4"})

    status, lean = api("account")  # lean account data
    assert status == 200 and all(set(record) == {"guid", "username", "parent", "enabled", "_links"} for record in lean)
    status, [verbose] = api(f"account/{dave['guid']}")  # verbose account data
    assert verbose["username"] == "dave@dcom" and "cfna_duration" in verbose and "child" in verbose["_links"]
    assert api("account/alice@example.net")[1][0]["username"] == "alice@example.net"
    documented = {
        "guid": number_guid,
        "number": "6499740205",
        "assigned": "dave@dcom",
        "is-pilot": True,
        "alert-info": "dr4",
        "account-code": "",
        "_links": {
            "self": {"href": f"/api-sys/account/{dave['guid']}/number/{number_guid}"},
            "parent": {"href": f"/api-sys/account/{dave['guid']}"},
        },
    }
    status, numbers = api(f"account/{dave['guid']}/number")
    assert status == 200 and [{k: v for k, v in n.items() if k != "cfa"} for n in numbers] == [documented]
    assert api(f"account/{dave['guid']}/number/{number_guid}")[1] == numbers

    # The seed's content-length (44) is not its body's (21 bytes): the client computes it.
    status, [patched] = api(
        f"account/{dave['guid']}/number/{number_guid}?patch=true",
        method="PUT",
        data='{ "alert-info":null }',
        headers={"content-type": "application/json"},
    )
    assert status == 200 and {k: v for k, v in patched.items() if k != "cfa"} == {**documented, "alert-info": ""}

    assert api("x") == (404, [{"error": "invalid path"}])
    status, index = api("")
    assert status == 200 and {"account", "guid", "location", "hydraaccount"} <= {r["api"] for r in index}
    status, [doc] = api("account/*/number", method="OPTIONS")
    assert (doc["description"], doc["methods"]) == (
        "Manage account phonenumbers",
        ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"],
    )
    assert {
        name: field for name, field in doc["fields"].items() if name != "assigned"
    } == {  # the seed's six fields, word for word; the sandbox also documents the read-only "assigned"
        "guid": {"type": "string", "description": "Unique identifier for each entry"},
        "number": {
            "type": "string",
            "description": "The e.164 phone number. Numbers must be unique, or prefixed with a: if outgoing "
            "rewrite is allowed",
        },
        "is-pilot": {
            "type": "boolean",
            "description": "Indicates to use this number a a default for invalid presented caller number",
        },
        "cfa": {
            "type": "string",
            "description": "An e.164 destination. Creates a call-forward-all for calls to this number",
        },
        "alert-info": {
            "type": "string",
            "description": "Assigns a value to the sip Alert-Info header for distinctive ring",
        },
        "account-code": {"type": "string", "description": "Free for use associated data"},
    }


def wav_seconds(seconds):
    audio = io.BytesIO()
    with wave.open(audio, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(1)
        recording.setframerate(8000)
        recording.writeframes(b"\x80" * int(8000 * seconds))
    return audio.getvalue()


def test_business_vpbx_example(exec_api):
    # Creating the virtual environment, the receptionist, and reading it back by name
    [env] = exec_api("PUT /api-sys/account/", '{"username":"acmebrick.x.co.nz"}', status=201)
    assert env["username"] == "acmebrick.x.co.nz" and env["parent"] is None
    [reception] = exec_api(
        "PUT /api-sys/account/acmebrick.x.co.nz/child", '{"username":"reception@acmebrick.x.co.nz"}', status=201
    )
    assert reception["password"], "a password is generated"
    [read] = exec_api("GET /api-sys/account/reception@acmebrick.x.co.nz")
    assert read["guid"] == reception["guid"] and read["parent"] == "acmebrick.x.co.nz"

    # DDIs: one picked by value, one allocated from _unassigned.pool by guid
    [ddi] = exec_api("PUT /api-sys/account/reception@acmebrick.x.co.nz/number", '{ "number":"6491231234"}')
    assert ddi["assigned"] == "reception@acmebrick.x.co.nz"
    free = exec_api("GET /api-sys/account/reception@acmebrick.x.co.nz/numberallocate?filter=%88")
    assert "D5A51C5C-F762-4E82-8B3E-7CB15662D40C" in [item["guid"] for item in free]
    exec_api("PUT /api-sys/account/reception@acmebrick.x.co.nz/number/D5A51C5C-F762-4E82-8B3E-7CB15662D40C")
    numbers = exec_api("GET /api-sys/account/reception@acmebrick.x.co.nz/number")
    assert [n["number"] for n in numbers] == ["6491231234", "6499290088"]
    assert numbers[0]["_links"]["parent"] == {"href": f"/api-sys/account/{reception['guid']}"}
    assert exec_api("GET /api-sys/account/reception@acmebrick.x.co.nz/reg") == []

    # Divert to voicemail, shorter ring, record all calls
    route = '{ "order":200, "destination":"email:reception@acmebrick.x.co.nz" }'
    exec_api("PUT /api-sys/account/reception@acmebrick.x.co.nz/route", route, status=201)
    [patched] = exec_api("PATCH /api-sys/account/reception@acmebrick.x.co.nz", '{ "cfna_duration":10 }')
    assert patched["cfna_duration"] == 10 and patched["username"] == "reception@acmebrick.x.co.nz"
    record = '{ "order":-12, "record_email":"reception@acmebrick.x.co.nz" }'
    exec_api("PUT /api-sys/account/reception@acmebrick.x.co.nz/callrule", record, status=201)

    # A sales line
    exec_api("PUT /api-sys/account/acmebrick.x.co.nz/child", '{"username":"sales@acmebrick.x.co.nz"}', status=201)
    exec_api("PUT /api-sys/account/sales@acmebrick.x.co.nz/number", '{ "number":"6499290089"}')
    assert exec_api("GET /api-sys/account/sales@acmebrick.x.co.nz")[0]["parent"] == "acmebrick.x.co.nz"

    # Extension dialling on the environment, and a pickup group every child inherits
    rule_600 = '{ "order":-2, "prefix_raw":"600", "username":"reception@acmebrick.x.co.nz", "destination":":600"} '
    exec_api("PUT /api-sys/account/acmebrick.x.co.nz/callrule", rule_600, status=201)
    rule_608 = '{ "order":-2, "prefix_raw":"608", "username":"sales@acmebrick.x.co.nz", "destination":":608"}'
    exec_api("PUT /api-sys/account/acmebrick.x.co.nz/callrule", rule_608, status=201)
    [alpha] = exec_api("PUT /api-sys/account/acmebrick.x.co.nz", '{ "pickup_group":"Alpha" }')
    assert alpha["pickup_group"] == "Alpha" and alpha["guid"] == env["guid"]

    # Stage two: a hunt group on a public DDI
    exec_api(
        "PUT /api-sys/account/acmebrick.x.co.nz/child", '{ "username":"main_entry@acmebrick.x.co.nz" }', status=201
    )
    exec_api("PUT /api-sys/account/main_entry@acmebrick.x.co.nz/number", '{ "number":"6499290087"}')
    for body in (
        '{ "order":"100","username":"reception@acmebrick.x.co.nz","hunt_user":true, "ring_seconds":10 }',
        '{ "order":"101","username":"sales@acmebrick.x.co.nz","hunt_user":true, "ring_seconds":10 }',
    ):
        [member] = exec_api("PUT /api-sys/account/main_entry@acmebrick.x.co.nz/route", body, status=201)
        assert member["hunt_user"] is True and isinstance(member["order"], int)
    final = '{ "order":200, "destination":"reception@acmebrick.x.co.nz" }'
    [divert] = exec_api("PUT /api-sys/account/main_entry@acmebrick.x.co.nz/route", final, status=201)

    # Prompt uploading: a client-chosen guid, form data, then a description
    [fresh] = exec_api("GET /api-sys/guid")
    greeting = fresh["guid"]
    [uploaded] = exec_api(
        f"PUT /api-sys/account/main_entry@acmebrick.x.co.nz/prompt/{greeting}",
        files={"file": ("greeting.wav", wav_seconds(3), "audio/wav")},
        status=201,
    )
    assert uploaded["guid"] == greeting and uploaded["prompt_length"] == 3.0
    [described] = exec_api(
        f"PATCH /api-sys/account/main_entry@acmebrick.x.co.nz/prompt/{greeting}", '{ "description":"MyMessageGreeting"}'
    )
    assert described["description"] == "MyMessageGreeting" and described["prompt_length"] == 3.0
    improved = f'{{ "order":200, "destination":"email:reception@acmebrick.x.co.nz","promptguid":"{greeting}"}}'
    [better] = exec_api("PUT /api-sys/account/main_entry@acmebrick.x.co.nz/route", improved)
    assert better["guid"] == divert["guid"] and better["promptguid"] == greeting

    # Call destination blocking by location
    locations = exec_api("GET /api-sys/location?filter=<CallR%")
    assert {"<CallRule-International>", "<CallRule-Mobile>"} <= {location["name"] for location in locations}
    for location in ("<CallRule-International>", "<CallRule-Mobile>"):
        block = f'{{"order":-14,"location":"{location}","destination":"drop:404:destination blocked"}}'
        exec_api("PUT /api-sys/account/reception@acmebrick.x.co.nz/callrule", block, status=201)
    rules = exec_api("GET /api-sys/account/reception@acmebrick.x.co.nz/callrule")
    assert [rule["order"] for rule in rules] == [-14, -14, -12]

    # Front door IVR: a blast group, a prompt recorded by phone, the *22 early rule, three menus
    exec_api("PUT /api-sys/account/acmebrick.x.co.nz/child", '{"username":"blast@acmebrick.x.co.nz"}', status=201)
    exec_api("PUT /api-sys/account/blast@acmebrick.x.co.nz/fork", '{"destination":"6499290088"}', status=201)
    exec_api("PUT /api-sys/account/blast@acmebrick.x.co.nz/fork", '{"destination":"6499290089"}', status=201)
    assert len(exec_api("GET /api-sys/account/blast@acmebrick.x.co.nz/fork")) == 2
    [menu_prompt] = exec_api(
        "PUT /api-sys/account/main_entry@acmebrick.x.co.nz/prompt/", '{"description":"After Hours Menu"}', status=201
    )
    assert menu_prompt["group_access"] == "*2200101"
    early = '{ "order":-2, "prefix_raw":"14", "destination":"*%", "early_rule":true }'
    exec_api("PUT /api-sys/account/acmebrick.x.co.nz/callrule", early, status=201)
    menus = (
        '{"order":-8,"menu_level":1, "time_definition":"nz_holidays,!Mon-Thur 08:30-17:00",'
        f'"digit_map":"1=#3,5=#2,T=#3","promptguid":"{menu_prompt["guid"]}"}}',
        '{"order":-8,"menu_level":2, "username":"blast@acmebrick.x.co.nz"}',
        f'{{"order":-8,"menu_level":3, "destination":"email:dave@dcom.co.nz","promptguid":"{greeting}"}}',
    )
    for body in menus:
        exec_api("PUT /api-sys/account/main_entry@acmebrick.x.co.nz/route", body, status=201)
    routes = exec_api("GET /api-sys/account/main_entry@acmebrick.x.co.nz/route")
    assert [(r["order"], r["menu_level"]) for r in routes] == [(-8, 1), (-8, 2), (-8, 3), (100, 0), (101, 0), (200, 0)]

    # Conference room with a PIN menu using the shared prompt
    exec_api("PUT /api-sys/account/acmebrick.x.co.nz/child", '{"username":"conference@acmebrick.x.co.nz"}', status=201)
    exec_api("PUT /api-sys/account/conference@acmebrick.x.co.nz/number", '{"number":"6499290085"}')
    pin_menu = (
        f'{{"order":-8,"menu_level":1, "digit_map":"5666=conference:6499290085","promptguid":"{SHARED_PIN_PROMPT}"}}'
    )
    exec_api("PUT /api-sys/account/conference@acmebrick.x.co.nz/route", pin_menu, status=201)

    children = exec_api("GET /api-sys/account/acmebrick.x.co.nz/child")
    assert sorted(child["username"].split("@")[0] for child in children) == [
        "blast",
        "conference",
        "main_entry",
        "reception",
        "sales",
    ]

    # Account setup with basic options (HydraAccount), the "note" key repeated as in the seed
    hydra = """{
"password":"5gjgosk2@#",
"cfna_dest":"6499650085",
"cfna_active":true,
"note":"Sets a callforward no-answer (including busy) to the voicemail destination",
"ums_pin":"5676",
"note":"Creates mailbox or resets pin. Use ums_pin:null to remove mailbox",
"concurrent_limit":2,
"note":"point c: concurrent_limit=2 allows call hold, concurrent_limit=1 disables. use for single lines only",
"private":1,
"note":"point e: private controls caller presentation",
"callerid":true,
"note":"point d: callerid allows/disables displaying the caller on the compass phone. "
}"""
    exec_api("PUT /api-sys/HydraAccount/6499878037", hydra, status=201)
    [line] = exec_api("GET /api-sys/hydraaccount/6499878037")
    assert (line["cfna_dest"], line["mailbox"], line["concurrent_limit"], line["private"]) == ("6499650085", True, 2, 1)
    exec_api("DELETE /api-sys/hydraaccount/6499878037")
    [doc] = exec_api("OPTIONS /api-sys/hydraaccount")
    assert "ums_pin" in doc["fields"] and "DELETE" in doc["methods"]
