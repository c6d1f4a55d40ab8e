"""The XC5-XS sandbox over real HTTP: authentication and api_access scoping, always-an-array answers,
strict validation, OPTIONS, accounts, numbers and the pool, routes and callrules, HydraAccount, faults."""

import io
import wave

import pytest
import requests

from telephony.sandbox.base import FaultConfig
from telephony.sandbox.xc5 import (
    SYSTEM_API_PASSWORD,
    SYSTEM_API_USERNAME,
    USER_API_PASSWORD,
    USER_API_USERNAME,
    Xc5Simulator,
)

SYSTEM = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
DEMO = (USER_API_USERNAME, USER_API_PASSWORD)


class Api:
    """requests against one running simulator, as one API account."""

    def __init__(self, base_url, auth):
        self.root = base_url + "/api-sys/"
        self.auth = auth

    def __call__(self, method, path="", **kwargs):
        kwargs.setdefault("auth", self.auth)
        response = requests.request(method, self.root + path, timeout=5, **kwargs)
        assert response.headers["Content-Type"] == "application/hal+json"
        assert isinstance(response.json(), list), "XC5 always answers a JSON array"
        return response

    def ok(self, method, path="", status=200, **kwargs):
        response = self(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def error(self, method, path, status, **kwargs):
        response = self(method, path, **kwargs)
        assert response.status_code == status, response.text
        body = response.json()
        assert len(body) == 1 and set(body[0]) == {"error"}
        return body[0]["error"]


@pytest.fixture
def sim():
    return Xc5Simulator()


@pytest.fixture
def api(serve, sim):
    return Api(serve(sim).base_url, SYSTEM)


@pytest.fixture
def demo(api):
    return Api(api.root.removesuffix("/api-sys/"), DEMO)


def environment(api, name="acmebrick.x.co.nz"):
    return api.ok("PUT", "account/", 201, json={"username": name})[0]


def test_every_call_needs_basic_credentials_of_an_api_account(api):
    response = api("GET", "", auth=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="api-sys"'
    assert api.error("GET", "", 401, auth=(SYSTEM_API_USERNAME, "wrong")) == "invalid username or password"
    environment(api)
    api.ok(
        "PUT", "account/acmebrick.x.co.nz/child", 201, json={"username": "a@acmebrick.x.co.nz", "password": "pw-123456"}
    )
    assert (
        api.error("GET", "", 401, auth=("a@acmebrick.x.co.nz", "pw-123456"))
        == "API access is not enabled for this account"
    )
    api.ok("PATCH", "account/a@acmebrick.x.co.nz", json={"enabled": False, "accountresource": {"api_access": "user"}})
    api.error("GET", "", 401, auth=("a@acmebrick.x.co.nz", "pw-123456"))


def test_index_lists_the_apis_and_the_version(api):
    records = api.ok("GET", "")
    assert records[0]["version"].startswith("XC5-XS")
    assert {record["api"] for record in records} >= {"account", "guid", "location", "hydraaccount"}
    assert records[1]["_links"] == {"self": {"href": "/api-sys/account"}, "parent": {"href": "/api-sys/"}}


@pytest.mark.parametrize("path", ["x", "account/provisioning/nothing", "account/a/number/b/c", "guid/x"])
def test_unknown_paths_answer_the_documented_error_array(api, path):
    assert api.error("GET", path, 404) == "invalid path"


def test_paths_outside_api_sys_and_injected_faults_are_arrays_too(api, sim):
    assert api.error("GET", "../other", 404) == "invalid path"
    sim.set_faults({"down": True})
    assert "unavailable" in api.error("GET", "", 503)


def test_options_documents_a_path_with_star_as_the_context(api):
    [doc] = api.ok("OPTIONS", "account/*/number")
    assert doc["description"] == "Manage account phonenumbers"
    assert doc["methods"] == ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"]
    assert doc["fields"]["is-pilot"] == {
        "type": "boolean",
        "description": "Indicates to use this number a a default for invalid presented caller number",
    }
    assert set(doc["fields"]) >= {"guid", "number", "cfa", "alert-info", "account-code"}
    assert api.ok("OPTIONS", "HydraAccount")[0]["fields"]["ums_pin"]["type"] == "string"
    assert "cfna_duration" in api.ok("OPTIONS", "account/*")[0]["fields"]
    assert api.error("OPTIONS", "account/*/nothing", 404) == "invalid path"


def test_account_list_is_lean_filtered_and_direct_children_unless_horizontal(api):
    env = environment(api)
    api.ok("PUT", f"account/{env['guid']}/child", 201, json={"username": "reception@acmebrick.x.co.nz"})
    roots = api.ok("GET", "account")
    names = [record["username"] for record in roots]
    assert "acmebrick.x.co.nz" in names and "reception@acmebrick.x.co.nz" not in names
    assert set(roots[0]) == {"guid", "username", "parent", "enabled", "_links"}
    assert [r["username"] for r in api.ok("GET", "account", params={"filter": "acme%"})] == ["acmebrick.x.co.nz"]
    everything = [r["username"] for r in api.ok("GET", "account", params={"horizontal": "true", "filter": "%acme%"})]
    assert everything == ["acmebrick.x.co.nz", "reception@acmebrick.x.co.nz"]
    assert api.error("GET", "account", 400, params={"horizontal": "maybe"}) == "horizontal must be true or false"
    assert api.error("GET", "account", 400, params={"sort": "name"}) == "unknown parameter: sort"


def test_an_account_is_read_verbose_by_guid_or_name(api):
    env = environment(api)
    [by_name] = api.ok("GET", "account/ACMEBRICK.x.co.nz")
    [by_guid] = api.ok("GET", f"account/{env['guid']}")
    assert by_name == by_guid
    assert by_name["cfna_duration"] == 20 and by_name["concurrent_limit"] == 2 and by_name["mailbox"] is False
    assert by_name["_links"]["self"] == {"href": f"/api-sys/account/{env['guid']}"}
    assert by_name["_links"]["parent"] == {"href": "/api-sys/account"}
    assert api.error("GET", "account/nobody.x.co.nz", 404) == "account not found"


def test_children_get_a_generated_password_and_are_never_duplicated(api):
    env = environment(api)
    [child] = api.ok("PUT", "account/acmebrick.x.co.nz/child", 201, json={"username": "sales@acmebrick.x.co.nz"})
    assert len(child["password"]) >= 12 and child["parent"] == "acmebrick.x.co.nz"
    [again] = api.ok("PUT", "account/acmebrick.x.co.nz/child", 200, json={"username": "sales@acmebrick.x.co.nz"})
    assert again["guid"] == child["guid"]
    [via_parent] = api.ok("PUT", "account/", 200, json={"username": "sales@acmebrick.x.co.nz", "parent": env["guid"]})
    assert via_parent["guid"] == child["guid"]
    assert api.error("PUT", "account/", 409, json={"username": "SALES@acmebrick.x.co.nz"}) == "username already exists"


@pytest.mark.parametrize(
    "name",
    ["_route.default", "_carrier.x", "_cos.gold", "_node.a", "_prompts.mine", "_auth.blacklist", "_unassigned.pool2"],
)
def test_reserved_names_cannot_be_created(api, name):
    assert "reserved" in api.error("PUT", "account/", 400, json={"username": name})


def test_reserved_accounts_cannot_be_changed_or_deleted(api):
    assert "reserved" in api.error("PATCH", "account/_unassigned.pool", 403, json={"description": "x"})
    assert "reserved" in api.error("DELETE", "account/_unassigned.pool", 403)
    assert "reserved" in api.error("PUT", "account/_unassigned.pool/child", 403, json={"username": "sneaky"})


def test_partial_updates_return_the_full_record_and_refuse_arrays(api):
    environment(api)
    [patched] = api.ok("PATCH", "account/acmebrick.x.co.nz", json={"cfna_duration": 10})
    assert patched["cfna_duration"] == 10 and patched["concurrent_limit"] == 2 and "password" in patched
    [put] = api.ok("PUT", "account/acmebrick.x.co.nz", params={"patch": "true"}, json={"pickup_group": "Alpha"})
    assert put["pickup_group"] == "Alpha" and put["cfna_duration"] == 10
    message = api.error("PATCH", "account/acmebrick.x.co.nz", 400, json=[{"cfna_duration": 10}])
    assert message == "Put/Patch JSON content as an object only"
    assert api.error("PATCH", "account/acmebrick.x.co.nz", 400, json={"cfna_duration": "10"}) == (
        "cfna_duration must be an integer"
    )
    assert api.error("PATCH", "account/acmebrick.x.co.nz", 400, json={"colour": "red"}) == "unknown field: colour"
    assert api.error("PATCH", "account/acmebrick.x.co.nz", 400, json={"guid": "x"}) == "field guid is read-only"
    assert (
        api.error("PATCH", "account/acmebrick.x.co.nz", 400, data="{", headers={"Content-Type": "application/json"})
        == "payload is not valid JSON"
    )
    assert api.error("PATCH", "account/acmebrick.x.co.nz", 400, json={"cfna_active": True}) == (
        "cfna_active needs a cfna_dest"
    )
    assert api.error("PATCH", "account/gone.x.co.nz", 404, json={"cfna_duration": 10}) == "account not found"
    api.error("PUT", "account/gone.x.co.nz", 404, params={"patch": "true"}, json={"cfna_duration": 10})


def test_put_on_an_account_path_creates_it_if_required(api):
    [created] = api.ok("PUT", "account/new.x.co.nz", 201, json={"description": "New"})
    assert created["username"] == "new.x.co.nz" and created["parent"] is None


def test_ums_pin_creates_the_mailbox_and_null_removes_it(api):
    environment(api)
    assert api.ok("PATCH", "account/acmebrick.x.co.nz", json={"ums_pin": "5676"})[0]["mailbox"] is True
    assert api.error("PATCH", "account/acmebrick.x.co.nz", 400, json={"ums_pin": "12"}).startswith("ums_pin is not")
    [removed] = api.ok("PATCH", "account/acmebrick.x.co.nz", json={"ums_pin": None})
    assert removed["mailbox"] is False and removed["ums_pin"] is None


def test_numbers_are_unique_system_wide_and_written_without_plus(api):
    environment(api)
    [number] = api.ok("PUT", "account/acmebrick.x.co.nz/number", 201, json={"number": "6493339999"})
    assert number["assigned"] == "acmebrick.x.co.nz" and number["is-pilot"] is True
    api.ok("PUT", "account/acmebrick.x.co.nz/child", 201, json={"username": "b@acmebrick.x.co.nz"})
    assert api.error("PUT", "account/provisioning/number", 409, json={"number": "6493339999"}).startswith(
        "number 6493339999 is already assigned"
    )
    assert "without a leading +" in api.error("PUT", "account/acmebrick.x.co.nz/number", 400, json={"number": "+6491"})
    assert api.error("PUT", "account/acmebrick.x.co.nz/number", 400, json={"alert-info": "x"}) == "number is required"
    # the environment's stock moves down to one of its users
    [moved] = api.ok("PUT", "account/b@acmebrick.x.co.nz/number", json={"number": "6493339999"})
    assert moved["guid"] == number["guid"] and moved["assigned"] == "b@acmebrick.x.co.nz"


def test_number_patch_as_put_clears_alert_info_like_the_seed(api):
    environment(api)
    [number] = api.ok(
        "PUT", "account/acmebrick.x.co.nz/number", 201, json={"number": "6493339999", "alert-info": "dr4"}
    )
    path = f"account/acmebrick.x.co.nz/number/{number['guid']}"
    [patched] = api.ok("PUT", path, params={"patch": "true"}, json={"alert-info": None})
    assert patched["alert-info"] == "" and patched["number"] == "6493339999"
    assert api.ok("GET", "account/acmebrick.x.co.nz/number/6493339999")[0]["guid"] == number["guid"]


def test_pool_numbers_are_allocated_by_guid_and_return_to_the_pool(api, sim):
    environment(api)
    free = api.ok("GET", "account/acmebrick.x.co.nz/numberallocate?filter=%88")  # the seed's unencoded filter
    assert [item["number"] for item in free] == ["6491231288", "6499290088"]
    seed_number = free[1]
    assert seed_number["guid"] == "D5A51C5C-F762-4E82-8B3E-7CB15662D40C"
    [taken] = api.ok("PUT", seed_number["_links"]["self"]["href"].removeprefix("/api-sys/"))
    assert taken["assigned"] == "acmebrick.x.co.nz"
    assert api.ok("GET", "account/acmebrick.x.co.nz/numberallocate", params={"filter": "%88"})[0]["number"] == (
        "6491231288"
    )
    api.ok("DELETE", f"account/acmebrick.x.co.nz/number/{taken['guid']}")
    pool = sim.snapshot()["numbers"][taken["guid"]]
    assert pool["account_guid"] == api.ok("GET", "account/_unassigned.pool")[0]["guid"]
    [own] = api.ok("PUT", "account/acmebrick.x.co.nz/number", 201, json={"number": "6493339999"})
    api.ok("DELETE", f"account/acmebrick.x.co.nz/number/{own['guid']}")
    assert own["guid"] not in sim.snapshot()["numbers"]
    assert api.error("DELETE", f"account/acmebrick.x.co.nz/number/{own['guid']}", 404) == "number not found"


def test_routes_are_one_per_order_and_menu_level_but_callrules_accumulate(api):
    environment(api)
    api.ok("PUT", "account/acmebrick.x.co.nz/child", 201, json={"username": "r@acmebrick.x.co.nz"})
    path = "account/r@acmebrick.x.co.nz/route"
    [first] = api.ok("PUT", path, 201, json={"order": "200", "destination": "email:r@acmebrick.x.co.nz"})
    [second] = api.ok("PUT", path, 200, json={"order": 200, "destination": "6499290088"})
    assert second["guid"] == first["guid"] and second["order"] == 200
    api.ok("PUT", path, 201, json={"order": -8, "menu_level": 1, "digit_map": "1=#3,5=#2,T=#3"})
    assert len(api.ok("GET", path)) == 2
    assert api.error("PUT", path, 400, json={"order": 5}) == "a route needs a destination, username or digit_map"
    assert api.error("PUT", path, 400, json={"order": 5, "username": "x@y"}) == "unknown account: x@y"
    assert api.error("PUT", path, 400, json={"order": 5, "destination": "1", "hunt_user": True}) == (
        "hunt_user needs a username"
    )
    rule = {"order": -2, "prefix_raw": "600", "username": "r@acmebrick.x.co.nz", "destination": ":600"}
    api.ok("PUT", "account/acmebrick.x.co.nz/callrule", 201, json=rule)
    api.ok("PUT", "account/acmebrick.x.co.nz/callrule", 201, json=rule)
    assert len(api.ok("GET", "account/acmebrick.x.co.nz/callrule")) == 2
    bad = {"order": -14, "location": "<Nowhere>", "destination": "drop:404:blocked"}
    assert api.error("PUT", "account/acmebrick.x.co.nz/callrule", 400, json=bad) == "unknown location: <Nowhere>"


def test_api_access_user_reaches_only_its_own_tree(api, demo):
    environment(api)
    assert [r["username"] for r in demo.ok("GET", "account")] == ["demo.x.co.nz"]
    tree = [r["username"] for r in demo.ok("GET", "account", params={"horizontal": "true"})]
    assert tree == ["alice@demo.x.co.nz", "bob@demo.x.co.nz", "demo.x.co.nz"]  # sorted by name
    assert demo.ok("GET", "account/alice@demo.x.co.nz")[0]["parent"] == "demo.x.co.nz"
    assert demo.error("GET", "account/acmebrick.x.co.nz", 404) == "account not found"
    assert demo.error("GET", "account/_unassigned.pool/number", 404) == "account not found"
    assert demo.error("PUT", "account/", 403, json={"username": "mine.x.co.nz"}) == (
        "api_access=user cannot create root accounts"
    )
    assert demo.error("PATCH", "account/alice@demo.x.co.nz", 403, json={"accountresource": {"api_access": "system"}})
    hunt = {"order": 100, "username": "provisioning", "hunt_user": True}
    assert demo.error("PUT", "account/alice@demo.x.co.nz/route", 400, json=hunt) == "unknown account: provisioning"
    # the pool is reached only through numberallocate for an account of its own tree
    [free] = demo.ok("GET", "account/alice@demo.x.co.nz/numberallocate", params={"filter": "6491231299"})
    demo.ok("PUT", free["_links"]["self"]["href"].removeprefix("/api-sys/"))
    demo.ok("PUT", "account/demo.x.co.nz/child", 201, json={"username": "carol@demo.x.co.nz"})


def test_an_account_with_children_or_in_use_by_the_caller_cannot_be_deleted(api, demo, sim):
    assert api.error("DELETE", "account/demo.x.co.nz", 409) == "account has child accounts; delete them first"
    assert demo.error("DELETE", "account/demo.x.co.nz", 403) == "cannot delete the account you are authenticated as"
    [alice] = api.ok("DELETE", "account/alice@demo.x.co.nz")
    assert alice["username"] == "alice@demo.x.co.nz"
    assert "6493001000" not in {number["number"] for number in sim.snapshot()["numbers"].values()}


def test_hydra_account_lines_are_put_read_and_deleted_by_number(api, sim):
    body = (
        '{"password":"5gjgosk2@#","cfna_dest":"6499650085","cfna_active":true,"note":"a","ums_pin":"5676",'
        '"note":"b","concurrent_limit":2,"private":1,"callerid":true}'
    )
    [line] = api.ok("PUT", "HydraAccount/6491231250", 201, data=body, headers={"Content-Type": "application/json"})
    assert line["mailbox"] is True and line["private"] == 1 and line["cfna_active"] is True
    [read] = api.ok("GET", "hydraaccount/6491231250")
    assert read["guid"] == line["guid"]
    assert api.ok("GET", f"account/{line['guid']}/number")[0]["number"] == "6491231250"
    assert api.ok("PUT", "hydraaccount/6491231250", json={"ums_pin": None})[0]["mailbox"] is False
    assert api.error("PUT", "hydraaccount/6491231250", 400, json={"private": True}) == "private must be an integer"
    api.ok("DELETE", "HYDRAACCOUNT/6491231250")
    assert api.error("GET", "hydraaccount/6491231250", 404) == "hydraaccount not found"
    assert any(n["number"] == "6491231250" for n in api.ok("GET", "account/_unassigned.pool/number"))


def test_prompts_are_created_recorded_by_code_or_uploaded(api):
    environment(api)
    [prompt] = api.ok("PUT", "account/acmebrick.x.co.nz/prompt/", 201, json={"description": "After Hours Menu"})
    assert prompt["group_access"].startswith("*22") and prompt["prompt_length"] == 0
    [guid] = api.ok("GET", "guid")
    audio = io.BytesIO()
    with wave.open(audio, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\0\0" * 16000)
    path = f"account/acmebrick.x.co.nz/prompt/{guid['guid']}"
    [uploaded] = api.ok("PUT", path, 201, files={"file": ("greeting.wav", audio.getvalue(), "audio/wav")})
    assert uploaded["prompt_length"] == 2.0
    assert api.ok("PATCH", path, json={"description": "MyMessageGreeting"})[0]["description"] == "MyMessageGreeting"


def test_locations_are_filtered_with_like(api):
    names = [location["name"] for location in api.ok("GET", "location", params={"filter": "<CallR%"})]
    assert {"<CallRule-International>", "<CallRule-Mobile>"} <= set(names)
    assert api.ok("GET", "location", params={"filter": "%mobile%"})[0]["name"] == "<CallRule-Mobile>"


def test_patch_can_be_refused_like_behind_a_proxy_that_drops_it(serve):
    running = serve(Xc5Simulator(patch_method_allowed=False))
    api = Api(running.base_url, SYSTEM)
    response = api("PATCH", "account/demo.x.co.nz", json={"cfna_duration": 10})
    assert response.status_code == 405 and "PATCH" not in response.headers["Allow"]
    assert api.ok("PUT", "account/demo.x.co.nz?patch=true", json={"cfna_duration": 10})[0]["cfna_duration"] == 10
    switch = requests.put(f"{running.base_url}/_sandbox/xc5-settings", json={"patch_method_allowed": True}, timeout=5)
    assert switch.json() == {"patch_method_allowed": True}
    api.ok("PATCH", "account/demo.x.co.nz", json={"cfna_duration": 12})


def test_session_expiry_does_not_apply_to_basic_authentication(serve):
    api = Api(serve(Xc5Simulator(faults=FaultConfig(session_expiry_calls=1))).base_url, SYSTEM)
    for _ in range(3):
        api.ok("GET", "")


def test_reset_brings_back_the_seed(api, sim):
    environment(api)
    sim.reset()
    api.error("GET", "account/acmebrick.x.co.nz", 404)
    assert len(api.ok("GET", "account/_unassigned.pool/number")) == 106
