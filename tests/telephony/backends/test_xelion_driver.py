"""Contract tests of both Xelion drivers over real HTTP against the sandbox simulators: the direct
server driver (platform credentials) and the Park Manager driver (X-Auth-Key, tenant logins)."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
import requests

from telephony.backends.base import (
    KIND_XELION_PARK_MANAGER,
    KIND_XELION_SERVER,
    Connection,
    EntitySpec,
    ForwardingSpec,
    IntervalSpec,
    TemplateSpec,
    TenantRef,
    TenantSpec,
    UserSpec,
    backend_ref,
)
from telephony.backends.errors import (
    AuthenticationError,
    NotFoundError,
    RejectedError,
    TransientError,
    UnsupportedOperation,
)
from telephony.backends.xelion import XelionParkManagerDriver, XelionServerDriver
from telephony.backends.xelion_session import parse_valid_until
from telephony.sandbox.parkmanager import OTHER_API_KEY, RESELLER_API_KEY, ROOT_API_KEY, build_xelion_park
from telephony.sandbox.xelion import MASTER_PASSWORD

SALES = EntitySpec(name="sales", display_name="Sales team", intervals=[IntervalSpec("200", "299")])
TEMPLATE = TemplateSpec(name="standard", settings={"role": "user", "user_licence": True})


@pytest.fixture
def park(serve):
    server, pm = build_xelion_park()
    return SimpleNamespace(server=server, pm=pm, server_url=serve(server).base_url, pm_url=serve(pm).base_url)


def make_driver(park, kind: str, **overrides):
    if kind == "server":
        connection = Connection(
            kind=KIND_XELION_SERVER, base_url=park.server_url, username="admin", secret=MASTER_PASSWORD, timeout=2.0
        )
        connection = Connection(**{**connection.__dict__, **overrides})
        return XelionServerDriver(connection)
    connection = Connection(kind=KIND_XELION_PARK_MANAGER, base_url=park.pm_url, secret=ROOT_API_KEY, timeout=2.0)
    return XelionParkManagerDriver(Connection(**{**connection.__dict__, **overrides}))


@pytest.fixture(
    params=[("server", False), ("pm", False), ("server", True), ("pm", True)],
    ids=["server", "pm", "server-documented", "pm-documented"],
)
def platform(request, park):
    """A driver of either kind with a started tenant `acme` (50 licences) created through it;
    documented-only, the simulators refuse every extension and the driver keeps to the documents
    (a direct server's tenant is then made on the server beforehand: the driver cannot)."""
    kind, documented = request.param
    if documented and kind == "server":
        make_driver(park, "server").create_tenant(TenantSpec(name="acme", label="Acme", licences=50))
    for simulator in (park.server, park.pm):
        simulator.set_faults({"documented_only": documented})
    driver = make_driver(park, kind, documented_only=documented)
    info = driver.create_tenant(TenantSpec(name="acme", label="Acme", licences=50))
    entity = EntitySpec(name=SALES.name, display_name=SALES.display_name, intervals=SALES.intervals)
    yield SimpleNamespace(
        driver=driver,
        park=park,
        sim=park.server,
        kind=kind,
        documented=documented,
        tenant=TenantRef(name="acme", identity=info.identity),
        entity=entity,
    )
    driver.close()


def objects(sim, tenant: str, object_type: str) -> list[dict]:
    record = sim.tenant_by_name(tenant)
    return [obj for obj in record["objects"].values() if obj["objectType"] == object_type]


def user_spec(n: int = 1, entity: EntitySpec = SALES, **overrides) -> UserSpec:
    values = {
        "username": f"user{n}",
        "first_name": f"First{n}",
        "last_name": "van Last",
        "internal_number": str(200 + n),
        "entity": entity,
        "template": TEMPLATE,
        "email": f"user{n}@example.com",
    }
    return UserSpec(**{**values, **overrides})


# tenants


def test_tenant_lifecycle(platform):
    if platform.documented:
        pytest.skip("documented-only: test_tenant_lifecycle_on_the_documented_api")
    driver, tenant = platform.driver, platform.tenant
    info = driver.get_tenant(tenant)
    assert (info.name, info.status, info.label, info.licences) == ("acme", "started", "Acme", 50)
    if platform.kind == "pm":
        assert (
            info.identity.get("xelion_tenant_id", "")
            and info.identity.get("xelion_database_id") == platform.sim.tenant_by_name("acme")["databaseId"]
        )
    else:
        assert info.identity.get("xelion_database_id") == platform.sim.tenant_by_name("acme")["databaseId"]
    again = driver.create_tenant(TenantSpec(name="acme", licences=50))
    assert again.identity == info.identity  # adopted, not a second tenant
    assert driver.stop_tenant(tenant).status == "stopped"
    assert platform.sim.tenant_by_name("acme")["status"] == "STOPPED"
    assert driver.stop_tenant(tenant).status == "stopped"  # already so: fine
    assert driver.start_tenant(tenant).status == "started"
    assert driver.start_tenant(tenant).status == "started"
    assert "acme" in {t.name for t in driver.list_tenants()}
    driver.delete_tenant(tenant)
    assert platform.sim.tenant_by_name("acme")["status"] == "STOPPED"
    driver.delete_tenant(TenantRef(name="never-was"))
    assert driver.get_tenant(TenantRef(name="never-was")) is None
    with pytest.raises(NotFoundError):
        driver.start_tenant(TenantRef(name="never-was"))


def test_tenant_lifecycle_on_the_documented_api(platform):
    """Documented-only, the portal neither finds, starts nor stops a tenant; a direct server's tenant
    must exist (the driver logs in to it), a Park Manager starts a new one and names its server."""
    if not platform.documented:
        pytest.skip("the extended API is test_tenant_lifecycle")
    driver, tenant = platform.driver, platform.tenant
    for call in (driver.start_tenant, driver.stop_tenant, driver.get_tenant):
        with pytest.raises(UnsupportedOperation, match="documented"):
            call(tenant)
    with pytest.raises(UnsupportedOperation, match="does not list tenants"):
        driver.list_tenants()
    if platform.kind == "server":
        assert tenant.identity == {"xelion_tenant_name": "acme"}
        assert driver.create_tenant(TenantSpec(name="acme")).identity == tenant.identity
        with pytest.raises(RejectedError, match="must exist and be started on the server first"):
            driver.create_tenant(TenantSpec(name="never-was"))
    else:
        assert tenant.identity.get("xelion_tenant_id") and tenant.identity.get("xelion_server_url") == (
            platform.park.server_url
        )
        with pytest.raises(RejectedError, match="cannot look up the tenant named acme"):
            driver.create_tenant(TenantSpec(name="acme"))
    driver.delete_tenant(tenant)  # the documents have no stop: the tenant keeps running
    assert platform.sim.tenant_by_name("acme")["status"] == "STARTED"


def test_health_and_servers(platform):
    if platform.documented and platform.kind == "pm":
        with pytest.raises(UnsupportedOperation, match="no call that checks a key"):
            platform.driver.health()
        with pytest.raises(UnsupportedOperation, match="does not list servers"):
            platform.driver.list_servers()
        return
    health = platform.driver.health()
    assert health.version == platform.sim.server_version
    servers = platform.driver.list_servers()
    assert len(servers) == 1 and servers[0].capacity_tenants == 100
    assert servers[0].host == platform.park.server_url.removeprefix("http://")


def test_park_manager_adopts_a_tenant_and_starts_it(park):
    driver = make_driver(park, "pm")
    first = driver.create_tenant(TenantSpec(name="beta", licences=3))
    driver.stop_tenant(TenantRef(name="beta", identity=first.identity))
    again = driver.create_tenant(TenantSpec(name="beta", licences=3))
    assert again.identity == first.identity and again.status == "started"
    assert sum(1 for t in park.server.tenants() if t["name"] == "beta") == 1


# entities, users, numbers


def test_entity_create_read_update_delete(platform):
    driver, tenant, entity = platform.driver, platform.tenant, platform.entity
    identity = driver.upsert_entity(tenant, entity)
    assert driver.upsert_entity(tenant, entity) == identity
    entity.identity = identity
    entity.display_name = "Sales & support"
    driver.upsert_entity(tenant, entity)
    state = driver.fetch_state(tenant)
    assert [(e.name, e.display_name, e.identity.get("xelion_oid", "")) for e in state.entities] == [
        ("sales", "Sales & support", identity.get("xelion_oid", ""))
    ]
    driver.delete_entity(tenant, entity)
    driver.delete_entity(tenant, entity)  # gone: fine
    # documented-only there is no DELETE: the group stays
    assert len(objects(platform.sim, "acme", "UserGroup")) == (1 if platform.documented else 0)


def test_user_create_read_update_delete(platform):
    driver, tenant, sim = platform.driver, platform.tenant, platform.sim
    kept = not platform.documented  # documented-only: no e-mail (a Person address), no membership
    spec = user_spec(1, platform.entity, forwarding=ForwardingSpec(always="0612345678"), voicemail_enabled=True)
    spec.identity = driver.create_user(tenant, spec)
    assert (
        spec.identity.get("xelion_oid", "")
        and spec.identity.get("xelion_person_oid", "")
        and spec.identity.get("xelion_phoneline_oid", "")
    )
    found = driver.find_user(tenant, spec)
    assert (found.first_name, found.last_name, found.internal_number, found.email) == (
        "First1",
        "van Last",
        "201",
        "user1@example.com" if kept else "",
    )
    assert (found.entity_name, found.voicemail_enabled, found.forwarding.always) == (
        "sales" if kept else None,  # membership is not read documented-only
        True,
        "0612345678",
    )

    spec.first_name, spec.internal_number, spec.email = "Renamed", "250", "new@example.com"
    spec.forwarding = ForwardingSpec(no_answer="0201234567", no_answer_timeout=25)
    spec.voicemail_enabled = False
    spec.template = TemplateSpec(name="admins", settings={"role": "admin", "user_licence": True})
    assert driver.update_user(tenant, spec) == spec.identity
    found = driver.find_user(tenant, spec)
    assert (found.first_name, found.internal_number, found.email, found.voicemail_enabled) == (
        "Renamed",
        "250",
        "new@example.com" if kept else "",
        False,
    )
    assert found.forwarding == ForwardingSpec(no_answer="0201234567", no_answer_timeout=25)
    profile = objects(sim, "acme", "UserProfile")[0]
    assert (profile["xccRole"], profile["commonName"]) == ("admin", "Renamed van Last")

    driver.delete_user(tenant, spec)
    assert driver.find_user(tenant, spec) is None
    if platform.documented:  # no DELETE: the user is switched off and its line answers no number
        [profile] = objects(sim, "acme", "UserProfile")
        [line] = objects(sim, "acme", "XCCPhoneLine")
        assert (profile["active"], line["extensions"], line["externalNumber"]) == (False, [], "")
        assert driver.fetch_state(tenant).users == [], "a switched-off user is read as gone"
        driver.delete_user(tenant, spec)  # again: fine
        return
    for object_type in ("UserProfile", "Person", "XCCPhoneLine"):
        assert objects(sim, "acme", object_type) == []
    driver.delete_user(tenant, spec)  # gone: fine
    with pytest.raises(NotFoundError):
        driver.update_user(tenant, spec)


def test_create_adopts_an_existing_user_and_an_orphan_person(platform):
    driver, tenant, sim = platform.driver, platform.tenant, platform.sim
    spec = user_spec(2, platform.entity)
    first = driver.create_user(tenant, spec)
    assert driver.create_user(tenant, user_spec(2, platform.entity)) == first
    assert len(objects(sim, "acme", "UserProfile")) == 1 and len(objects(sim, "acme", "Person")) == 1
    # an interrupted create left a Person without a user: the next create takes it
    leftover = user_spec(3, platform.entity)
    with sim.lock:
        orphan = sim.objects_of(sim.tenant_by_name("acme")).create_person({"commonName": "First3 van Last"})
    identity = driver.create_user(tenant, leftover)
    assert identity.get("xelion_person_oid", "") == orphan["oid"]
    assert len(objects(sim, "acme", "Person")) == 2


def test_numbers_on_the_trunk_and_the_users_line(platform):
    driver, tenant, sim = platform.driver, platform.tenant, platform.sim
    spec = user_spec(4, platform.entity)
    spec.identity = driver.create_user(tenant, spec)
    if platform.documented:
        assert driver.features.line_features.external_numbers == 1
        driver.assign_number(tenant, spec, "+31201110001")
        with pytest.raises(RejectedError, match="one external number per line"):
            driver.assign_number(tenant, spec, "+31201110002")
        line = objects(sim, "acme", "XCCPhoneLine")[0]
        assert (line["externalNumber"], [e["address"] for e in line["extensions"]]) == ("+31201110001", ["204"])
        assert driver.fetch_state(tenant).users[0].external_numbers == ["+31201110001"]
        driver.unassign_number(tenant, spec, "+31201110001")
        assert objects(sim, "acme", "XCCPhoneLine")[0]["externalNumber"] == ""
        assert objects(sim, "acme", "XCCTrunk")[0]["assignedNumbers"] == []
        spec.external_numbers = ["+31201110003"]
        driver.update_user(tenant, spec)
        assert [n.number for n in driver.fetch_state(tenant).numbers] == ["+31201110003"]
        driver.delete_user(tenant, spec)
        assert objects(sim, "acme", "XCCTrunk")[0]["assignedNumbers"] == []
        return
    relation = driver.assign_number(tenant, spec, "+31201110001")
    driver.assign_number(tenant, spec, "+31201110002")
    assert driver.assign_number(tenant, spec, "+31201110001") == relation
    trunk = objects(sim, "acme", "XCCTrunk")[0]
    assert [n["extension"]["address"] for n in trunk["assignedNumbers"]] == ["+31201110001", "+31201110002"]
    line = objects(sim, "acme", "XCCPhoneLine")[0]
    assert line["externalNumber"] == "+31201110001"
    state = driver.fetch_state(tenant)
    assert {(n.number, n.assigned_username) for n in state.numbers} == {
        ("+31201110001", "user4"),
        ("+31201110002", "user4"),
    }
    assert state.users[0].external_numbers == ["+31201110001", "+31201110002"]
    driver.unassign_number(tenant, spec, "+31201110001")
    driver.unassign_number(tenant, spec, "+31201110001")  # gone: fine
    assert objects(sim, "acme", "XCCPhoneLine")[0]["externalNumber"] == "+31201110002"
    assert [n["extension"]["address"] for n in objects(sim, "acme", "XCCTrunk")[0]["assignedNumbers"]] == [
        "+31201110002"
    ]
    # numbers given in the spec converge with the user; deleting the user frees them
    spec.external_numbers = ["+31201110003"]
    driver.update_user(tenant, spec)
    assert [n.number for n in driver.fetch_state(tenant).numbers] == ["+31201110003"]
    driver.delete_user(tenant, spec)
    assert objects(sim, "acme", "XCCTrunk")[0]["assignedNumbers"] == []


def test_templates_are_not_stored(platform):
    assert platform.driver.upsert_template(platform.tenant, TEMPLATE) == backend_ref()
    platform.driver.delete_template(platform.tenant, TEMPLATE)
    assert platform.driver.fetch_state(platform.tenant).templates == []


@pytest.mark.parametrize("answer", ["one", "empty"])
def test_patch_answered_with_one_or_no_body(platform, answer):
    platform.sim.patch_answer = answer
    spec = user_spec(5, platform.entity, forwarding=ForwardingSpec(always="0611111111"))
    spec.identity = platform.driver.create_user(platform.tenant, spec)
    spec.last_name = "Changed"
    platform.driver.update_user(platform.tenant, spec)
    assert platform.driver.find_user(platform.tenant, spec).last_name == "Changed"
    patches = [e for e in platform.driver.log.as_list() if e["method"] == "PATCH"]
    assert patches and {e["status"] for e in patches} == ({200} if answer == "one" else {204})


def test_fetch_state_round_trips_through_paging(platform):
    driver, tenant = platform.driver, platform.tenant
    specs = [user_spec(n, platform.entity, external_numbers=[f"+3120222{n:04d}"]) for n in range(1, 18)]
    for spec in specs:
        spec.identity = driver.create_user(tenant, spec)
    reader = make_driver(
        platform.park, platform.kind, documented_only=platform.documented
    )  # a fresh driver and a fresh exchange log
    reader.read_page_size = 15
    state = reader.fetch_state(tenant)
    by_name = {u.username: u for u in state.users}
    assert set(by_name) == {s.username for s in specs}
    for spec in specs:
        read = by_name[spec.username]
        assert (read.first_name, read.last_name, read.internal_number, read.email) == (
            spec.first_name,
            spec.last_name,
            spec.internal_number,
            "" if platform.documented else spec.email,
        )
        assert (read.identity, read.entity_name, read.external_numbers) == (
            spec.identity,
            None if platform.documented else "sales",
            spec.external_numbers,
        )
        assert read.identity.get("xelion_oid", "") and read.identity.get("xelion_phoneline_oid", "")
    assert len(state.numbers) == 17
    user_pages = [e["url"] for e in reader.log.as_list() if "/api/v1/acme/users" in e["url"]]
    assert len(user_pages) == 2  # 15 + 2 users: the driver followed the cursor to a second page
    assert all("limit=15" in url for url in user_pages)
    reader.close()


# sessions


def test_token_expiring_mid_sequence_is_replaced(platform):
    platform.sim.set_faults({"session_expiry_calls": 3})
    spec = user_spec(6, platform.entity, external_numbers=["+31203330001"])
    spec.identity = platform.driver.create_user(platform.tenant, spec)
    spec.last_name = "After Expiry"
    platform.driver.update_user(platform.tenant, spec)
    assert platform.driver.find_user(platform.tenant, spec).last_name == "After Expiry"
    statuses = [e["status"] for e in platform.driver.log.as_list()]
    assert statuses.count(401) >= 2  # expired more than once, and recovered each time


def test_renewal_rotates_the_renewal_token(platform):
    driver = make_driver(platform.park, platform.kind, documented_only=platform.documented)
    driver.renew_margin_seconds = 10**9  # every call is "close to validUntil": renew each time
    spec = user_spec(7, platform.entity)
    driver.create_user(platform.tenant, spec)
    assert driver.find_user(platform.tenant, spec).username == "user7"
    renewals = [e for e in driver.log.as_list() if e["url"].endswith("/me/renew")]
    assert len(renewals) >= 3 and {e["status"] for e in renewals} == {200}
    assert all(e["status"] != 401 for e in driver.log.as_list())  # each renewal used the newest token
    session = driver._sessions["acme"]
    logged = json.dumps(driver.log.as_list())
    assert session.renewal_token not in logged and session.token not in logged
    driver.close()


def test_login_kept_by_another_session_is_recovered(park):
    driver = make_driver(park, "server")
    taken = {"userName": "admin", "password": MASTER_PASSWORD, "userSpace": driver.user_space()}
    assert requests.post(f"{park.server_url}/api/v1/master/me/login", json=taken, timeout=5).status_code == 200
    assert driver.health().version
    assert [e["status"] for e in driver.log.as_list()][:2] == [401, 200]
    driver.close()


def test_close_logs_out(platform):
    platform.driver.upsert_entity(platform.tenant, platform.entity)
    sessions = len(platform.sim.sessions.sessions)
    platform.driver.close()
    assert len(platform.sim.sessions.sessions) < sessions
    assert any(e["url"].endswith("/me/logout") for e in platform.driver.log.as_list())


def test_valid_until_in_both_formats():
    expected = dt.datetime(2023, 7, 10, 13, 22, 43, tzinfo=dt.UTC)
    assert parse_valid_until("2023-07-10 13:22:43") == expected
    assert parse_valid_until("2023-07-10T13:22:43.000Z") == expected
    assert parse_valid_until("2023-07-10T15:22:43+02:00") == expected
    assert parse_valid_until("soon") is None


# failures


@pytest.mark.parametrize(
    "fault", [{"rate_limit_rate": 1.0}, {"error_rate": 1.0}, {"down": True}, {"timeout_rate": 1.0, "hang_seconds": 2}]
)
def test_busy_failing_or_slow_server_is_transient(platform, fault):
    driver = make_driver(platform.park, platform.kind, timeout=0.5, documented_only=platform.documented)
    driver.upsert_entity(platform.tenant, platform.entity)  # logged in before the fault
    platform.sim.set_faults(fault)
    with pytest.raises(TransientError):
        driver.create_user(platform.tenant, user_spec(8, platform.entity))
    driver.close()


@pytest.mark.parametrize("fault", [{"rate_limit_rate": 1.0}, {"error_rate": 1.0}, {"down": True}])
def test_failing_park_manager_is_transient(park, fault):
    park.pm.set_faults(fault)
    with pytest.raises(TransientError):
        make_driver(park, "pm").create_tenant(TenantSpec(name="gamma"))


def test_unreachable_platform_is_transient(park):
    with pytest.raises(TransientError):
        make_driver(park, "server", base_url="http://127.0.0.1:9").health()


def test_wrong_credentials(park):
    with pytest.raises(AuthenticationError):
        make_driver(park, "server", secret="wrong").health()
    with pytest.raises(AuthenticationError):
        make_driver(park, "pm", secret="wrong-key").health()
    with pytest.raises(AuthenticationError):
        make_driver(park, "pm", secret=RESELLER_API_KEY, acting_organization="3").list_tenants()
    driver = make_driver(park, "pm", secret=RESELLER_API_KEY)
    driver.create_tenant(TenantSpec(name="resold"))
    assert make_driver(park, "pm", secret=OTHER_API_KEY).get_tenant(TenantRef(name="resold")) is None


def test_refusals_carry_xelion_messages(platform):
    driver, tenant = platform.driver, platform.tenant
    driver.create_user(tenant, user_spec(9, platform.entity))
    clash = user_spec(10, platform.entity, internal_number="209")
    with pytest.raises(RejectedError) as refused:
        driver.create_user(tenant, clash)
    assert "209 is already used" in refused.value.message and refused.value.status == 400
    assert [ext["address"] for ext in objects(platform.sim, "acme", "XCCPhoneLine")[1]["extensions"]] == []


def test_licences_exhausted_is_rejected(platform):
    with platform.sim.lock:
        platform.sim.tenant_by_name("acme")["licenses"] = 1
    platform.driver.create_user(platform.tenant, user_spec(11, platform.entity))
    with pytest.raises(RejectedError) as refused:
        platform.driver.create_user(platform.tenant, user_spec(12, platform.entity))
    assert refused.value.status == 403 and "licence" in refused.value.message
    # the new Person was taken back; documented-only (no DELETE) it stays for the retry to reuse
    assert len(objects(platform.sim, "acme", "Person")) == (2 if platform.documented else 1)


def test_secrets_never_reach_the_log(platform):
    platform.driver.upsert_entity(platform.tenant, platform.entity)
    logged = json.dumps(platform.driver.log.as_list())
    assert MASTER_PASSWORD not in logged and ROOT_API_KEY not in logged
    assert all(session.token not in logged for session in platform.driver._sessions.values())


# a first try: the documented calls and no look-ups


def test_a_first_try_creates_with_the_documented_calls_and_answers_the_read_back(platform):
    driver, tenant = platform.driver, platform.tenant
    entity = EntitySpec(**{**platform.entity.__dict__, "identity": driver.upsert_entity(tenant, platform.entity)})
    spec = user_spec(5, entity, first_try=True)
    driver.log.clear()
    identity = driver.create_user(tenant, spec)
    calls = [f"{e.method} {e.url.rsplit('/api/v1/', 1)[-1]}" for e in driver.log.entries]
    made = ["POST acme/addressables", "POST acme/users", f"PATCH acme/phonelines/{identity['xelion_phoneline_oid']}"]
    joined = [] if platform.documented else [f"PATCH acme/usergroups/{entity.identity['xelion_oid']}"]
    assert calls == [*made, *joined, f"GET acme/users/{identity['xelion_oid']}"], "the last one reads it back"
    answered = driver.take_answered_user(identity)
    found = driver.find_user(tenant, UserSpec(**{**spec.__dict__, "identity": identity}))
    assert (answered.internal_number, answered.first_name, answered.email) == ("205", "First5", found.email)
    assert answered.entity_name is None, "its group is left to the scans"
    assert found.entity_name == (None if platform.documented else "sales")


def test_a_first_try_whose_username_is_taken_adopts_that_user(platform):
    driver, tenant, sim = platform.driver, platform.tenant, platform.sim
    first = driver.create_user(tenant, user_spec(6, platform.entity))
    again = driver.create_user(tenant, user_spec(6, platform.entity, first_try=True))
    assert again == first
    assert len(objects(sim, "acme", "UserProfile")) == 1
    # the Person the refused create made is removed again (documented-only there is no DELETE)
    assert len(objects(sim, "acme", "Person")) == (2 if platform.documented else 1)
