"""The XCU simulator over real HTTP: sessions, the rules behind each call, and the strict validation
that must catch a driver's mistakes. The document's requests, curl calls and example script, with
its answers, are replayed in test_xcu_seed_examples.py."""

import base64

import pytest
import requests

from telephony.sandbox.base import FaultConfig
from telephony.sandbox.server import serve_in_thread
from telephony.sandbox.xcu import XcuSimulator

XIVO_221_UUID = "15585b75-1d75-45b1-8678-520d1210ec59"
XIVO_220_UUID = "8f159082-4b25-48b3-afec-1873491a60be"
ANALOGIQUE = f"default_analogique@{XIVO_221_UUID}"
DEFAULT = f"default@{XIVO_221_UUID}"


@pytest.fixture(scope="module")
def served():
    """One server for the module (stopping one costs half a second); each test resets it."""
    running = serve_in_thread(XcuSimulator())
    yield running
    running.stop()


@pytest.fixture
def sim(served):
    served.simulator.faults = FaultConfig()
    served.simulator.reset()
    return served.simulator


@pytest.fixture
def base(served, sim):
    return served.base_url


@pytest.fixture
def api(base):
    """A logged-in HTTP session against the served simulator; `api.url(path)` builds API URLs."""
    session = requests.Session()
    session.base = base
    session.url = lambda path: f"{base}/api/1.0/{path}"
    answer = session.post(session.url("login"), json={"login": "admin", "password": "superpass"})
    assert answer.status_code == 200
    return session


def new_entity(**changes):
    entity = {
        "name": "acme",
        "displayName": "Acme",
        "xivoId": 1,
        "intervals": [{"start": "2000", "end": "2099"}, {"start": "2500", "end": ""}],
        "presentedNumber": "inbNo",
    }
    entity.update(changes)
    return entity


def new_template(**changes):
    template = {
        "name": "Standard",
        "xivos": [1],
        "entities": [],
        "peerSipName": "auto",
        "ringingTime": 25,
        "routedInbound": False,
        "callerIdMode": "anonymous",
        "voiceMailEnabled": True,
    }
    template.update(changes)
    return template


def make_user(api, entity_cid, number, template_id, **changes):
    user = {
        "entityCId": entity_cid,
        "templateId": template_id,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "internalNumber": number,
    }
    user.update(changes)
    return api.post(api.url("users"), json=user)


@pytest.fixture
def acme(api):
    """An entity and a template on xivo-220: (combinedId, template id)."""
    entity = api.post(api.url("entities"), json=new_entity())
    template = api.post(api.url("templates"), json=new_template())
    assert entity.status_code == 201 and template.status_code == 201
    return entity.json()["combinedId"], template.json()["id"]


# ---------------------------------------------------------------------- login and sessions
def test_api_calls_without_a_session_are_refused_with_a_json_error(base):
    answer = requests.get(f"{base}/api/1.0/xivo")
    assert answer.status_code == 401
    assert "login" in answer.json()["error"]


def test_login_sets_a_play_session_cookie_and_refuses_wrong_credentials(base):
    url = f"{base}/api/1.0/login"
    good = requests.post(url, json={"login": "admin", "password": "superpass"})
    assert good.status_code == 200 and "PLAY_SESSION" in good.cookies
    wrong = requests.post(url, json={"login": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid login or password"}
    assert requests.post(url, json={"login": "admin"}).json() == {"error": "password: field is required"}
    not_json = requests.post(url, data="login=admin&password=superpass")
    assert not_json.status_code == 415


def test_session_expires_after_the_configured_number_of_calls(api, sim):
    sim.set_faults({"session_expiry_calls": 2})
    assert api.get(api.url("xivo")).status_code == 200
    assert api.get(api.url("xivo")).status_code == 200
    assert api.get(api.url("xivo")).status_code == 401


# ---------------------------------------------------------------------- seed data
def test_administrator_passwords_are_answered_as_a_hash(api):
    admin = api.get(api.url("administrators/1")).json()
    assert admin["login"] == "admin" and admin["superAdmin"] is True
    assert admin["password"] != "superpass" and len(base64.b64decode(admin["password"])) == 48


# ---------------------------------------------------------------------- entities
def test_entity_lifecycle_and_combined_id(api):
    created = api.post(api.url("entities"), json=new_entity())
    assert created.status_code == 201
    cid = created.json()["combinedId"]
    assert cid == f"acme@{XIVO_220_UUID}"
    edited = api.put(api.url(f"entities/{cid}"), json=new_entity(displayName="Acme BV"))
    assert edited.json()["displayName"] == "Acme BV" and edited.json()["id"] == created.json()["id"]
    assert api.delete(api.url(f"entities/{cid}")).status_code == 204
    assert api.get(api.url(f"entities/{cid}")).status_code == 404


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ([{"start": "3990000", "end": "3999999"}], "intervals[0].start: must be 1 to 6 digits"),
        ([{"start": "2000", "end": "20999"}], "same number of digits"),
        ([{"start": "2099", "end": "2000"}], "end is before start"),
        ([{"start": "20a0", "end": ""}], "intervals[0].start"),
        ([{"start": "2000", "end": "2099"}, {"start": "2050", "end": ""}], "overlaps"),
        ("2000-2099", "intervals: must be an array"),
    ],
)
def test_new_intervals_are_validated(api, intervals, message):
    answer = api.post(api.url("entities"), json=new_entity(intervals=intervals))
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_entity_refusals(api):
    assert api.post(api.url("entities"), json=new_entity(xivoId=7)).json() == {"error": "XiVO 7 not found"}
    assert api.post(api.url("entities"), json=new_entity(colour="red")).json() == {"error": "unknown field(s): colour"}
    assert api.post(api.url("entities"), json=new_entity(name="a@b")).status_code == 400
    assert api.post(api.url("entities"), json=new_entity()).status_code == 201
    assert api.post(api.url("entities"), json=new_entity()).status_code == 409
    seed = new_entity(name="default", displayName="default", xivoId=2)
    seed["intervals"] = [{"start": "1700", "end": "1799"}]
    assert api.put(api.url(f"entities/{DEFAULT}"), json={**seed, "xivoId": 1}).status_code == 400
    # the seed's 7- and 8-digit intervals stay acceptable on an edit that keeps them
    analogique = api.get(api.url(f"entities/{ANALOGIQUE}")).json()
    kept = new_entity(name="default_analogique", xivoId=2, intervals=analogique["intervals"])
    assert api.put(api.url(f"entities/{ANALOGIQUE}"), json=kept).status_code == 200
    # an entity with users cannot be deleted
    assert api.delete(api.url(f"entities/{ANALOGIQUE}")).status_code == 400


def test_available_numbers_skip_the_numbers_in_use(api, acme):
    cid, template_id = acme
    assert make_user(api, cid, "2000", template_id).status_code == 201
    numbers = api.get(api.url(f"entities/{cid}/available_numbers")).json()["items"]
    assert numbers[:2] == ["2001", "2002"]
    assert "2500" in numbers and "2000" not in numbers and len(numbers) == 100


# ---------------------------------------------------------------------- users
def test_user_lifecycle_takes_and_gives_back_a_slot(api, acme):
    cid, template_id = acme
    created = make_user(api, cid, "2001", template_id, mail="ada@example.com", externalNumber="+31201234567")
    assert created.status_code == 201
    user = created.json()
    assert user["entity"]["xivo"]["remainingSlots"] == 663 and user["provisioningNumber"]
    edited = api.put(api.url(f"users/{user['id']}"), json={**_user_body(cid, template_id, "2002"), "lastName": "King"})
    assert (edited.json()["lastName"], edited.json()["internalNumber"]) == ("King", "2002")
    assert [u["id"] for u in api.get(api.url(f"entities/{cid}/users")).json()["items"]] == [user["id"]]
    assert api.delete(api.url(f"users/{user['id']}")).status_code == 204
    assert api.get(api.url("xivo/1")).json()["remainingSlots"] == 664
    assert api.get(api.url(f"users/{user['id']}")).status_code == 404


def _user_body(cid, template_id, number):
    return {"entityCId": cid, "templateId": template_id, "firstName": "Ada", "lastName": "L", "internalNumber": number}


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"templateId": None}, 400, "templateId: field is required"),
        ({"templateId": 99}, 400, "template 99 not found"),
        ({"entityCId": DEFAULT, "internalNumber": "1700"}, 400, "is not available to entity default@"),
        ({"internalNumber": "3000"}, 400, "not in the intervals"),
        ({"internalNumber": "20001"}, 400, "not in the intervals"),
        ({"entityCId": "nobody@nowhere"}, 400, "entity nobody@nowhere not found"),
        ({"firstName": 12}, 400, "firstName: must be a string"),
        ({"ctiPassword": "x"}, 400, "ctiLogin: required with ctiPassword"),
        ({"externalNumber": "call me"}, 400, "externalNumber"),
    ],
)
def test_user_creation_is_validated(api, acme, changes, status, message):
    cid, template_id = acme
    answer = make_user(api, cid, "2003", template_id, **changes)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_an_internal_number_or_cti_login_is_taken_only_once(api, acme):
    cid, template_id = acme
    assert make_user(api, cid, "2004", template_id, ctiLogin="ada").status_code == 201
    assert make_user(api, cid, "2004", template_id).status_code == 409
    assert make_user(api, cid, "2005", template_id, ctiLogin="ada").status_code == 409


def test_a_xivo_without_slots_refuses_users(api, sim, acme):
    cid, template_id = acme
    sim.state["xivos"][0]["remainingSlots"] = 0
    answer = make_user(api, cid, "2006", template_id)
    assert answer.status_code == 400 and "no remaining slot" in answer.json()["error"]


# ---------------------------------------------------------------------- templates
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"routedInbound": True}, "routedInboundPrefix: field is required"),
        ({"callerIdMode": "custom"}, "customCallerId: field is required"),
        ({"voiceMailNumberMode": "custom"}, "voiceMailCustomNumber: field is required"),
        ({"peerSipName": "manual"}, "peerSipName: must be one of auto, model"),
        ({"callerIdMode": "hidden"}, "callerIdMode: must be one of"),
        ({"ringingTime": "30"}, "ringingTime: must be an integer"),
        ({"routedInbound": "yes"}, "routedInbound: must be true or false"),
        ({"xivos": [5]}, "XiVO 5 not found"),
        ({"entities": ["x@y"]}, "entity x@y not found"),
        ({"name": None}, "name: field is required"),
    ],
)
def test_template_rules(api, changes, message):
    answer = api.post(api.url("templates"), json=new_template(**changes))
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_template_lifecycle(api):
    body = new_template(routedInbound=True, routedInboundPrefix="0312", callerIdMode="custom", customCallerId="+3131")
    created = api.post(api.url("templates"), json=body)
    assert created.status_code == 201
    template = created.json()
    assert (template["routedInboundPrefix"], template["customCallerId"]) == ("0312", "+3131")
    assert api.post(api.url("templates"), json=body).status_code == 409
    edited = api.put(api.url(f"templates/{template['id']}"), json=new_template(entities=[DEFAULT], ringingTime=40))
    assert (edited.json()["ringingTime"], edited.json()["entities"]) == (40, [DEFAULT])
    assert "routedInboundPrefix" not in edited.json()
    assert api.delete(api.url(f"templates/{template['id']}")).status_code == 204
    assert api.get(api.url(f"templates/{template['id']}")).status_code == 404


# ---------------------------------------------------------------------- administrators
def test_administrators(api):
    assert api.post(api.url("administrators"), json={"login": "eve", "ldap": False}).status_code == 400
    assert api.post(api.url("administrators"), json={"login": "eve", "password": "pw", "entityIds": [99]}).json() == {
        "error": "entity 99 not found"
    }
    created = api.post(api.url("administrators"), json={"login": "eve", "password": "s3cret!", "entityIds": [17]})
    assert created.status_code == 201
    assert created.json()["password"] != "s3cret!" and created.json()["entities"] == [17]
    assert api.post(api.url("administrators"), json={"login": "ldapuser", "ldap": True}).status_code == 201
    assert api.post(api.url("administrators"), json={"login": "eve", "password": "x"}).status_code == 409
    login = requests.post(api.url("login"), json={"login": "eve", "password": "s3cret!"})
    assert login.status_code == 200
    assert api.delete(api.url(f"administrators/{created.json()['id']}")).status_code == 204
    assert requests.get(api.url("xivo"), cookies=login.cookies).status_code == 401  # its session went with it
    assert api.delete(api.url("administrators/1")).status_code == 400  # the last super-administrator


# ---------------------------------------------------------------------- xivos, faults, reset
def test_xivo_creation(api):
    created = api.post(api.url("xivo"), json={"name": "xivo-3", "host": "xivo3.example.net", "configure": True})
    assert created.status_code == 201 and created.json()["id"] == 3
    assert api.post(api.url("xivo"), json={"name": "xivo-3", "host": "other.example.net"}).status_code == 409
    assert api.post(api.url("xivo"), json={"name": "x", "host": "bad host"}).status_code == 400
    assert api.get(api.url("xivo/synchronize_config_files")).status_code == 200


def test_faults_answer_with_the_platforms_error_body(api, sim):
    sim.set_faults({"rate_limit_rate": 1.0})
    assert api.get(api.url("xivo")).status_code == 429
    sim.set_faults({"rate_limit_rate": 0.0, "down": True})
    answer = api.get(api.url("xivo"))
    assert answer.status_code == 503 and "error" in answer.json()


def test_reset_restores_the_seed(api, sim, acme):
    assert requests.post(f"{api.base}/_sandbox/reset").status_code == 200
    assert len(sim.snapshot()["entities"]) == 2 and len(sim.snapshot()["templates"]) == 1
