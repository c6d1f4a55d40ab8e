"""The Xelion server simulator's tenant collections over real HTTP: persons, users, phonelines,
trunks and user groups; the documented errors, PATCH forms and answers, paging, where and include."""

from __future__ import annotations

import pytest

from telephony.sandbox.xelion import XelionServerSimulator
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


def test_second_phoneline_with_same_name_is_renamed_as_the_seed_shows(tenant):
    tenant.create("phonelines", {"commonName": "Sales", "objectType": "XCCPhoneLine"})
    second = tenant.create("phonelines", {"commonName": "Sales", "objectType": "XCCPhoneLine"})
    assert second["commonName"] == "Sales (2)"


def test_trunk_as_the_seed_with_assigned_numbers(tenant):
    trunk = tenant.create(
        "trunks",
        {
            "providerName": "SipTrunk",
            "host": "sip.trunk.com",
            "account": "acc",
            "password": "pw",
            "assignedNumbers": [{"extension": {"address": "+31123456789"}, "useAsCallerId": True, "orderNumber": 1}],
            "useAsFallback": True,
            "defaultNormalization": "plusPrefix",
            "commonName": "SipTrunk",
            "objectType": "XCCTrunk",
        },
    )
    assert trunk["providerName"] == trunk["commonName"] == "acme_SipTrunk"
    number = trunk["assignedNumbers"][0]
    assert number["objectType"] == "XCCTrunkExtension" and number["extension"]["objectType"] == "TelecomAddress"
    ops = [
        {"op": "add", "path": "/assignedNumbers/1", "value": "+31123456780"},
        {"op": "add", "path": "/assignedNumbers/1/orderNumber", "value": 2},
    ]
    assert tenant.call("PATCH", f"trunks/{trunk['oid']}", json={"operations": ops}).text == "1"
    numbers = tenant.call("GET", f"trunks/{trunk['oid']}").json()["object"]["assignedNumbers"]
    assert [(n["extension"]["address"], n["orderNumber"]) for n in numbers] == [
        ("+31123456789", 1),
        ("+31123456780", 2),
    ]
    remove = [{"op": "remove", "path": f"/assignedNumbers/{numbers[0]['oid']}"}]
    assert tenant.call("PATCH", f"trunks/{trunk['oid']}", json=remove).status_code == 200
    # the seed posts its trunk to users/: that collection refuses a trunk
    assert error_of(tenant.call("POST", "users", json={"objectType": "XCCTrunk", "providerName": "x"})) == (400, 10203)


def test_person_from_a_whole_family_name_and_strict_attributes(tenant):
    person = tenant.create("addressables", {"objectType": "Person", "familyName": "Mark van Dam"})
    assert (person["givenName"], person["familyName"], person["commonName"]) == ("Mark", "van Dam", "Mark van Dam")
    assert error_of(tenant.call("POST", "addressables", json={"objectType": "Person", "familyname": "x"})) == (
        400,
        10202,
    )
    assert error_of(tenant.call("POST", "addressables", json={"commonName": "No Type"})) == (400, 10203)
    too_long = {"objectType": "Person", "commonName": "x" * 4001}
    assert error_of(tenant.call("POST", "addressables", json=too_long)) == (400, 10202)


def test_user_creation_errors(tenant):
    person = tenant.create("addressables", {"objectType": "Person", "commonName": "Ann Lee"})
    ref = {"oid": person["oid"], "objectType": "Person"}
    body = {"userName": "ann", "person": ref, "objectType": "UserProfile"}
    assert error_of(tenant.call("POST", "users", json={**body, "userName": ""})) == (500, 11000)
    assert error_of(
        tenant.call("POST", "users", json={**body, "person": {"oid": "999999999", "objectType": "Person"}})
    ) == (404, 10100)
    assert error_of(tenant.call("POST", "users", json={**body, "person": {"oid": person["oid"]}})) == (400, 10203)
    tenant.create("users", body)
    other = tenant.create("addressables", {"objectType": "Person", "commonName": "Bob Lee"})
    assert error_of(
        tenant.call("POST", "users", json={**body, "person": {"oid": other["oid"], "objectType": "Person"}})
    ) == (500, 11000)
    assert error_of(tenant.call("POST", "users", json={**body, "userName": "bob"})) == (
        500,
        11000,
    )  # person already linked
    assert error_of(tenant.call("DELETE", f"addressables/{person['oid']}")) == (400, 10202)


def test_licences_run_out_with_403_10101(master, base_url):
    created = master.create("tenants", {"name": "small", "licenses": 1})
    master.call("POST", f"tenants/{created['databaseId']}/start")
    api = Api(base_url, "small")
    api.login("admin", "small-admin")
    for number, name in enumerate(("One Person", "Two Person")):
        person = api.create("addressables", {"objectType": "Person", "commonName": name})
        answer = api.call(
            "POST",
            "users",
            json={
                "userName": f"u{number}",
                "person": {"oid": person["oid"], "objectType": "Person"},
                "objectType": "UserProfile",
            },
        )
    assert error_of(answer) == (403, 10101)
    licences = api.call("GET", "licenses", params={"include": "maxLicenses,usedLicenses"}).json()["data"][0]["object"]
    assert (licences["maxLicenses"], licences["usedLicenses"]) == (1, 1)


def test_user_role_may_read_but_not_write(tenant, base_url):
    person = tenant.create("addressables", {"objectType": "Person", "commonName": "Carl Plain"})
    tenant.create(
        "users",
        {
            "userName": "carl",
            "password": "pw-carl",
            "person": {"oid": person["oid"], "objectType": "Person"},
            "objectType": "UserProfile",
        },
    )
    carl = Api(base_url, "acme")
    assert carl.login("carl", "pw-carl").status_code == 200
    assert carl.call("GET", "users").status_code == 200
    assert error_of(carl.call("POST", "addressables", json={"objectType": "Person", "commonName": "X Y"})) == (
        403,
        10101,
    )


@pytest.mark.parametrize("answer", ["one", "empty"])
def test_patch_forms_and_answers(sim, tenant, answer):
    sim.patch_answer = answer
    line = tenant.create("phonelines", {"commonName": "Desk", "objectType": "XCCPhoneLine"})
    bare = [{"op": "replace", "path": "/callerName", "value": "Front desk"}]
    response = tenant.call("PATCH", f"phonelines/{line['oid']}", json=bare)
    assert (response.status_code, response.text) == ((200, "1") if answer == "one" else (204, ""))
    assert tenant.call("GET", f"phonelines/{line['oid']}").json()["object"]["callerName"] == "Front desk"


def test_patch_is_all_or_nothing_and_strict(tenant):
    line = tenant.create(
        "phonelines", {"commonName": "Desk", "extensions": [{"address": "100"}], "objectType": "XCCPhoneLine"}
    )
    other = tenant.create("phonelines", {"commonName": "Other", "objectType": "XCCPhoneLine"})
    ops = [
        {"op": "replace", "path": "/callerName", "value": "changed"},
        {"op": "add", "path": "/extensions/1", "value": "100"},
    ]
    assert error_of(tenant.call("PATCH", f"phonelines/{other['oid']}", json={"operations": ops})) == (400, 10202)
    assert tenant.call("GET", f"phonelines/{other['oid']}").json()["object"]["callerName"] == ""
    bad_path = [{"op": "replace", "path": "/noSuchThing", "value": 1}]
    assert error_of(tenant.call("PATCH", f"phonelines/{line['oid']}", json=bad_path)) == (400, 10202)
    wrong_type = [{"op": "replace", "path": "/userPhoneLine/voicemailActive", "value": "yes"}]
    assert error_of(tenant.call("PATCH", f"phonelines/{line['oid']}", json=wrong_type)) == (400, 10202)
    assert error_of(tenant.call("PATCH", f"phonelines/{line['oid']}", json={"operations": []})) == (400, 10200)
    assert error_of(tenant.call("PATCH", "phonelines/123456789", json=bad_path)) == (404, 10100)


def test_paging_where_and_include(tenant):
    made = [
        tenant.create("addressables", {"objectType": "Person", "commonName": f"Person {n:02d}"})["oid"]
        for n in range(20)
    ]
    first = tenant.call("GET", "addressables").json()
    assert [e["object"]["oid"] for e in first["data"]] == made[:15]
    assert first["meta"]["paging"] == {"nextId": made[14]}
    assert set(first["data"][0]["object"]) == {"permissions", "commonName", "oid", "objectType"}
    second = tenant.call("GET", "addressables", params={"after": made[14]}).json()
    assert [e["object"]["oid"] for e in second["data"]] == made[15:]
    assert second["meta"]["paging"] == {"previousId": made[15]}
    before = tenant.call("GET", "addressables", params={"before": made[15], "limit": 5}).json()
    assert [e["object"]["oid"] for e in before["data"]] == made[10:15]
    newest = tenant.call("GET", "addressables", params={"order": "decending", "limit": 3}).json()
    assert [e["object"]["oid"] for e in newest["data"]] == made[:-4:-1]
    assert error_of(tenant.call("GET", "addressables", params={"order": "descending"})) == (400, 10202)
    assert error_of(tenant.call("GET", "addressables", params={"limit": "0"})) == (400, 10202)
    found = tenant.call("GET", "addressables", params={"where": "commonName=person 07", "include": "givenName"}).json()[
        "data"
    ]
    assert [(e["object"]["oid"], e["object"]["givenName"]) for e in found] == [(made[7], "Person")]
    assert found[0]["links"][0]["href"].endswith(f"/api/v1/acme/addressables/{made[7]}")


def test_deleting_a_user_takes_its_relations_along(tenant):
    person = tenant.create("addressables", {"objectType": "Person", "commonName": "Dee Leet"})
    user = tenant.create(
        "users",
        {"userName": "dee", "person": {"oid": person["oid"], "objectType": "Person"}, "objectType": "UserProfile"},
    )
    group = tenant.create("usergroups", {"commonName": "Sales", "objectType": "UserGroup"})
    tenant.call("PATCH", f"usergroups/{group['oid']}", json=[{"op": "add", "path": "/members/1", "value": user["oid"]}])
    assert tenant.call("DELETE", f"users/{user['oid']}").text == "1"
    assert tenant.call("GET", f"usergroups/{group['oid']}").json()["object"]["members"] == []
    line = tenant.call("GET", f"phonelines/{user['primaryLine']['oid']}").json()["object"]
    assert line["users"] == []
    assert error_of(tenant.call("DELETE", f"users/{user['oid']}")) == (404, 10100)
    assert tenant.call("DELETE", f"addressables/{person['oid']}").status_code == 200


def _user(tenant, name: str, user_name: str) -> dict:
    person = tenant.create("addressables", {"objectType": "Person", "commonName": name})
    ref = {"oid": person["oid"], "objectType": "Person"}
    return tenant.create("users", {"userName": user_name, "person": ref, "objectType": "UserProfile"})


def _add_address(tenant, line_oid: str, address: str):
    operation = {"op": "add", "path": "/extensions/1", "value": address}
    return tenant.call("PATCH", f"phonelines/{line_oid}", json=[operation])


def test_unique_keys_follow_renames_removals_deletes_and_a_restart(serve, tmp_path):
    """The simulator finds a key's holder through an index kept across requests: a renamed user's
    old name, a removed address and a deleted user's Person are free again, and a simulator started
    from the saved state still refuses the keys that are held."""
    sim = XelionServerSimulator(state_file=tmp_path / "xelion.json")
    tenant = started_tenant(logged_in_master(serve(sim).base_url))
    ann = _user(tenant, "Ann Lee", "ann")
    tenant.call("PATCH", f"users/{ann['oid']}", json=[{"op": "replace", "path": "/userName", "value": "anna"}])
    bob = _user(tenant, "Bob Lee", "ANN")  # the old name, in another case
    assert error_of(tenant.call("POST", "users", json={"userName": "Anna", "objectType": "UserProfile",
                                                      "person": bob["person"]})) == (500, 11000)  # fmt: skip
    line = ann["primaryLine"]["oid"]
    assert _add_address(tenant, line, "201").text == "1"
    address = tenant.call("GET", f"phonelines/{line}").json()["object"]["extensions"][0]["oid"]
    assert error_of(_add_address(tenant, bob["primaryLine"]["oid"], "201")) == (400, 10202)
    tenant.call("PATCH", f"phonelines/{line}", json=[{"op": "remove", "path": f"/extensions/{address}"}])
    assert _add_address(tenant, bob["primaryLine"]["oid"], "201").text == "1"

    shared = tenant.create("phonelines", {"commonName": "Shared", "objectType": "XCCPhoneLine"})
    tenant.call("PATCH", f"phonelines/{shared['oid']}", json=[{"op": "add", "path": "/users/1", "value": bob["oid"]}])
    lines = tenant.call("GET", f"users/{bob['oid']}").json()["object"]["lines"]
    assert [each["line"]["oid"] for each in lines] == [bob["primaryLine"]["oid"], shared["oid"]]

    tenant.call("DELETE", f"users/{ann['oid']}")
    person = {"oid": ann["person"]["oid"], "objectType": "Person"}
    again = tenant.create("users", {"userName": "ann2", "person": person, "objectType": "UserProfile"})

    restarted = XelionServerSimulator(state_file=tmp_path / "xelion.json")
    tenant = Api(serve(restarted).base_url, "acme")
    tenant.login("admin", "acme-admin")
    other = _user(tenant, "Cee Lee", "cee")
    assert error_of(_add_address(tenant, other["primaryLine"]["oid"], "201")) == (400, 10202)
    assert error_of(tenant.call("POST", "users", json={"userName": "ann2", "objectType": "UserProfile",
                                                      "person": other["person"]})) == (500, 11000)  # fmt: skip
    lines = tenant.call("GET", f"users/{bob['oid']}").json()["object"]["lines"]
    assert [each["line"]["oid"] for each in lines] == [bob["primaryLine"]["oid"], shared["oid"]]
    assert again["person"]["oid"] == ann["person"]["oid"]
