"""XcuDriver against the XCU simulator over real HTTP: the driver contract (idempotent creates,
deletes of what is gone, one fresh login on an expired session, the error taxonomy) and the
read-back of what it wrote."""

import pytest

from telephony.backends import base, registry
from telephony.backends.base import (
    Connection,
    EntitySpec,
    IntervalSpec,
    TemplateSpec,
    TenantRef,
    TenantSpec,
    UserSpec,
    backend_ref,
)
from telephony.backends.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RejectedError,
    TransientError,
    UnsupportedOperation,
)
from telephony.backends.xcu import XcuDriver
from telephony.sandbox.base import FaultConfig
from telephony.sandbox.server import serve_in_thread
from telephony.sandbox.xcu import XcuSimulator

XIVO_220 = TenantRef(name="acme", server_name="xivo-220", server_identity=backend_ref(xcu_id=1))


@pytest.fixture(scope="module")
def served():
    """One server for the module (stopping one costs half a second); each test resets it."""
    running = serve_in_thread(XcuSimulator())
    yield running
    running.stop()


@pytest.fixture(params=[False, True], ids=["extended", "documented"])
def documented_only(request):
    """Every contract test runs twice: with the API extensions the driver knows, and with the
    simulator refusing them (`documented_only`) and the driver told to keep to the document."""
    return request.param


@pytest.fixture
def sim(served, documented_only):
    served.simulator.faults = FaultConfig(documented_only=documented_only)
    served.simulator.reset()
    return served.simulator


@pytest.fixture
def connect(served, sim, documented_only):
    drivers = []

    def _connect(password="superpass", timeout=5.0, base_url=None):
        connection = Connection(
            kind="xcu",
            base_url=base_url or served.base_url,
            username="admin",
            secret=password,
            timeout=timeout,
            documented_only=documented_only,
        )
        drivers.append(XcuDriver(connection))
        return drivers[-1]

    yield _connect
    for driver in drivers:
        driver.close()


@pytest.fixture
def driver(connect):
    return connect()


def entity_spec(**changes):
    values = {"name": "acme", "display_name": "Acme", "intervals": [IntervalSpec("2000", "2099"), IntervalSpec("2500")]}
    values.update(changes)
    return EntitySpec(**values)


def template_spec(**changes):
    values = {"name": "Acme standard", "ringing_time": 25, "caller_id_mode": "anonymous"}
    values.update(changes)
    return TemplateSpec(**values)


def user_spec(number="2001", **changes):
    values = {
        "username": "ada",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "internal_number": number,
        "entity": entity_spec(),
        "template": template_spec(),
        "email": "ada@example.com",
    }
    values.update(changes)
    return UserSpec(**values)


def users_numbered(sim, number):
    return [u for u in sim.snapshot()["users"] if u["internalNumber"] == number]


def provision_entity_and_template(driver):
    driver.upsert_entity(XIVO_220, entity_spec())
    driver.upsert_template(XIVO_220, template_spec())


# ---------------------------------------------------------------------- health, servers, tenants
def test_the_driver_registers_for_the_xcu_kind():
    assert registry.DRIVERS[base.KIND_XCU] is XcuDriver


def test_health_and_servers(driver):
    assert driver.health().detail.startswith("XCU, 2 XiVOs (xivo-220, xivo-221)")
    servers = driver.list_servers()
    assert [(s.name, s.identity.get("xcu_id"), s.remaining_slots) for s in servers] == [
        ("xivo-220", 1, 664),
        ("xivo-221", 2, 280),
    ]
    assert servers[1].identity["xcu_uuid"] == "15585b75-1d75-45b1-8678-520d1210ec59"


def test_base_url_may_include_the_api_path(connect, served):
    assert len(connect(base_url=f"{served.base_url}/api/1.0/").list_servers()) == 2


def test_tenants_are_bookkeeping_on_a_xivo(driver):
    assert [t.name for t in driver.list_tenants()] == ["xivo-220", "xivo-221"]
    info = driver.create_tenant(TenantSpec(name="acme", server_name="xivo-221"))
    assert (info.identity.get("xcu_id"), info.server_name) == (2, "xivo-221")
    with pytest.raises(NotFoundError):
        driver.create_tenant(TenantSpec(name="acme", server_identity=backend_ref(xcu_id=42)))
    assert driver.get_tenant(TenantRef(name="x", server_identity=backend_ref(xcu_id=42))) is None
    assert driver.get_tenant(XIVO_220).server_name == "xivo-220"
    driver.delete_tenant(XIVO_220)
    with pytest.raises(UnsupportedOperation):
        driver.start_tenant(XIVO_220)


# ---------------------------------------------------------------------- entities and templates
def test_entity_create_read_update_delete(driver, sim):
    identity = driver.upsert_entity(XIVO_220, entity_spec())
    assert identity.get("xcu_combined_id", "") == "acme@8f159082-4b25-48b3-afec-1873491a60be"
    again = driver.upsert_entity(XIVO_220, entity_spec(display_name="Acme BV", presented_number="+31201234567"))
    assert again.get("xcu_id") == identity.get("xcu_id")
    stored = [e for e in sim.snapshot()["entities"] if e["name"] == "acme"]
    assert [(e["displayName"], e["presentedNumber"]) for e in stored] == [("Acme BV", "+31201234567")]
    renamed = driver.upsert_entity(XIVO_220, entity_spec(name="acme-nl", identity=identity))
    assert (renamed.get("xcu_id"), renamed.get("xcu_combined_id", "").split("@")[0]) == (
        identity.get("xcu_id"),
        "acme-nl",
    )
    driver.delete_entity(XIVO_220, entity_spec(name="acme-nl"))
    driver.delete_entity(XIVO_220, entity_spec(name="acme-nl"))  # already gone: fine
    assert [e["name"] for e in sim.snapshot()["entities"]] == ["default", "default_analogique"]


def test_template_create_read_update_delete(driver, sim):
    identity = driver.upsert_template(XIVO_220, template_spec())
    updated = driver.upsert_template(XIVO_220, template_spec(routed_inbound=True, routed_inbound_prefix="0201"))
    assert updated.get("xcu_id") == identity.get("xcu_id")
    stored = [t for t in sim.snapshot()["templates"] if t["name"] == "Acme standard"]
    assert [(t["routedInboundPrefix"], t["xivos"]) for t in stored] == [("0201", [1])]
    # the same template name used from another XiVO is shared, not duplicated, and survives its
    # deletion from the first XiVO
    xivo_221 = TenantRef(name="other", server_identity=backend_ref(xcu_id=2))
    assert driver.upsert_template(xivo_221, template_spec()).get("xcu_id") == identity.get("xcu_id")
    driver.delete_template(XIVO_220, template_spec())
    assert [t["xivos"] for t in sim.snapshot()["templates"] if t["name"] == "Acme standard"] == [[2]]
    driver.delete_template(xivo_221, template_spec())
    driver.delete_template(xivo_221, template_spec())
    assert [t["name"] for t in sim.snapshot()["templates"]] == ["Modèle 220"]


def test_a_template_deleted_for_good_leaves_the_whole_xcu(driver, sim):
    """The portal's template is gone (its delete job names no tenant): the template goes from every
    XiVO it served, by the id the portal learnt."""
    identity = driver.upsert_template(XIVO_220, template_spec())
    driver.upsert_template(TenantRef(name="other", server_identity=backend_ref(xcu_id=2)), template_spec())
    driver.delete_template(TenantRef(name=""), template_spec(identity=identity))
    driver.delete_template(TenantRef(name=""), template_spec(identity=identity))  # gone: fine
    assert [t["name"] for t in sim.snapshot()["templates"]] == ["Modèle 220"]


# ---------------------------------------------------------------------- users and numbers
def test_user_create_read_update_delete(driver, sim, documented_only):
    provision_entity_and_template(driver)
    identity = driver.create_user(XIVO_220, user_spec())
    assert sim.snapshot()["xivos"][0]["remainingSlots"] == 663
    found = driver.find_user(XIVO_220, user_spec())
    assert (found.username, found.email, found.entity_name, found.identity.get("xcu_id")) == (
        "ada",
        "" if documented_only else "ada@example.com",  # `mail` is no documented user field
        "acme",
        identity.get("xcu_id"),
    )
    driver.update_user(XIVO_220, user_spec(last_name="King", identity=identity))
    assert driver.find_user(XIVO_220, user_spec()).last_name == "King"
    driver.update_user(XIVO_220, user_spec(number="2002", identity=identity))  # renumbered by identity
    assert users_numbered(sim, "2002")[0]["id"] == identity.get("xcu_id")
    driver.delete_user(XIVO_220, user_spec(number="2002"))
    driver.delete_user(XIVO_220, user_spec(number="2002"))
    assert driver.find_user(XIVO_220, user_spec(number="2002")) is None
    assert sim.snapshot()["xivos"][0]["remainingSlots"] == 664
    with pytest.raises(NotFoundError):
        driver.update_user(XIVO_220, user_spec(number="2003"))


def test_creating_a_user_that_exists_adopts_it(driver, sim):
    provision_entity_and_template(driver)
    first = driver.create_user(XIVO_220, user_spec())
    # a retry after a crash: the portal never stored the identity
    second = driver.create_user(XIVO_220, user_spec(first_name="Augusta"))
    assert second.get("xcu_id") == first.get("xcu_id")
    assert [u["firstName"] for u in users_numbered(sim, "2001")] == ["Augusta"]
    assert sim.snapshot()["xivos"][0]["remainingSlots"] == 663


def test_external_numbers(driver, sim, documented_only):
    provision_entity_and_template(driver)
    driver.create_user(XIVO_220, user_spec())
    if documented_only:  # `externalNumber` is no documented user field: the driver never sends it
        assert not driver.features.line_features.external_numbers
        with pytest.raises(UnsupportedOperation, match="documented XCU API"):
            driver.assign_number(XIVO_220, user_spec(), "+31201234567")
        driver.unassign_number(XIVO_220, user_spec(), "+31201234567")
        assert users_numbered(sim, "2001")[0]["externalNumber"] is None
        assert all("externalNumber" not in (e.request_body or "") for e in driver.log.entries)
        return
    driver.assign_number(XIVO_220, user_spec(), "+31201234567")
    driver.assign_number(XIVO_220, user_spec(), "+31201234567")  # already there: fine
    assert users_numbered(sim, "2001")[0]["externalNumber"] == "+31201234567"
    with pytest.raises(RejectedError, match="one external number per user"):
        driver.assign_number(XIVO_220, user_spec(), "+31209999999")
    driver.update_user(XIVO_220, user_spec(last_name="King"))  # a spec without numbers keeps them
    assert users_numbered(sim, "2001")[0]["externalNumber"] == "+31201234567"
    driver.unassign_number(XIVO_220, user_spec(), "+31201234567")
    driver.unassign_number(XIVO_220, user_spec(), "+31201234567")
    assert users_numbered(sim, "2001")[0]["externalNumber"] is None


def test_fetch_state_reads_back_what_was_written(driver, documented_only):
    provision_entity_and_template(driver)
    user_identity = driver.create_user(XIVO_220, user_spec())
    if documented_only:
        assert [(u.username, u.external_numbers) for u in driver.fetch_state(XIVO_220).users] == [("ada", [])]
        return
    driver.assign_number(XIVO_220, user_spec(), "+31201234567")
    state = driver.fetch_state(XIVO_220)
    assert state.tenant.server_name == "xivo-220"
    assert [(e.name, e.display_name, [(i.start, i.end) for i in e.intervals]) for e in state.entities] == [
        ("acme", "Acme", [("2000", "2099"), ("2500", "")])
    ]
    assert state.entities[0].identity.get("xcu_combined_id", "").startswith("acme@")
    ours = [t for t in state.templates if t.name == "Acme standard"]
    assert [(t.ringing_time, t.caller_id_mode) for t in ours] == [(25, "anonymous")]
    assert [(u.username, u.internal_number, u.external_numbers) for u in state.users] == [
        ("ada", "2001", ["+31201234567"])
    ]
    assert [(n.number, n.assigned_username, n.identity.get("xcu_id")) for n in state.numbers] == [
        ("+31201234567", "ada", user_identity.get("xcu_id"))
    ]


# ---------------------------------------------------------------------- sessions and errors
def test_a_session_expiring_mid_sequence_is_renewed(driver, sim):
    sim.set_faults({"session_expiry_calls": 2})
    provision_entity_and_template(driver)
    identity = driver.create_user(XIVO_220, user_spec())
    driver.update_user(XIVO_220, user_spec(last_name="King", identity=identity))
    if not driver.connection.documented_only:
        driver.assign_number(XIVO_220, user_spec(), "+31201234567")
    assert driver.fetch_state(XIVO_220).users[0].last_name == "King"
    driver.delete_user(XIVO_220, user_spec())
    logins = [e for e in driver.log.entries if e.url.endswith("/login")]
    assert len(logins) > 3 and all(e.status == 200 for e in logins)


def test_wrong_password_raises_authentication_error(connect):
    driver = connect(password="wrong")
    with pytest.raises(AuthenticationError, match="invalid login or password"):
        driver.list_servers()
    assert "wrong" not in str(driver.log.as_list())


def test_secrets_stay_out_of_the_exchange_log(driver):
    driver.list_servers()
    assert "superpass" not in str(driver.log.as_list())
    assert driver.client.session_cookie.split("=", 1)[1] not in str(driver.log.as_list())


@pytest.mark.parametrize("fault", [{"rate_limit_rate": 1.0}, {"error_rate": 1.0}, {"down": True}])
def test_throttling_and_server_errors_are_transient(driver, sim, fault):
    driver.list_servers()  # logged in before the fault starts
    sim.set_faults(fault)
    with pytest.raises(TransientError):
        driver.list_servers()


def test_timeouts_are_transient(connect, sim):
    driver = connect(timeout=0.5)
    driver.list_servers()
    sim.set_faults({"timeout_rate": 1.0, "hang_seconds": 2})
    with pytest.raises(TransientError, match="timed out"):
        driver.list_servers()


def test_connection_refused_is_transient(connect):
    running = serve_in_thread(XcuSimulator())
    base_url = running.base_url
    running.stop()
    with pytest.raises(TransientError):
        connect(base_url=base_url).list_servers()


def test_validation_refusal_carries_the_simulators_message(driver):
    driver.upsert_entity(XIVO_220, entity_spec())
    with pytest.raises(RejectedError, match="routedInboundPrefix: field is required") as refused:
        driver.upsert_template(XIVO_220, template_spec(routed_inbound=True))
    assert refused.value.status == 400
    driver.upsert_template(XIVO_220, template_spec())
    with pytest.raises(RejectedError, match="3000 is not in the intervals of entity acme"):
        driver.create_user(XIVO_220, user_spec(number="3000"))
    with pytest.raises(RejectedError, match=r"intervals\[0\]\.start: must be 1 to 6 digits"):
        driver.upsert_entity(XIVO_220, entity_spec(name="big", intervals=[IntervalSpec("1234567")]))


def test_users_need_their_entity_and_template_first(driver):
    with pytest.raises(NotFoundError, match="entity acme does not exist"):
        driver.create_user(XIVO_220, user_spec())
    driver.upsert_entity(XIVO_220, entity_spec())
    with pytest.raises(NotFoundError, match="line template Acme standard does not exist"):
        driver.create_user(XIVO_220, user_spec())


# ---------------------------------------------------------------------- one call per create
def known_ids(driver, sim):
    """The tenant, entity and template as the portal knows them once their jobs have run."""
    entity = driver.upsert_entity(XIVO_220, entity_spec())
    template = driver.upsert_template(XIVO_220, template_spec())
    xivo = next(x for x in sim.snapshot()["xivos"] if x["id"] == 1)
    tenant = TenantRef(
        name="acme", server_name="xivo-220", server_identity=backend_ref(xcu_id=1, xcu_uuid=xivo["uuid"])
    )
    return tenant, entity, template


def calls_during(sim, action):
    before = sim.api_calls
    result = action()
    return result, sim.api_calls - before


def test_a_create_with_the_ids_the_portal_holds_is_one_call(driver, sim, documented_only):
    tenant, entity, template = known_ids(driver, sim)
    spec = user_spec(entity=entity_spec(identity=entity), template=template_spec(identity=template))
    identity, calls = calls_during(sim, lambda: driver.create_user(tenant, spec))
    assert calls == 1  # POST users, as the document needs
    answered = driver.take_answered_user(identity)  # the answer held the user: no read-back needed
    assert (answered.internal_number, answered.entity_name, answered.first_name) == ("2001", "acme", "Ada")
    assert answered.email == ("" if documented_only else "ada@example.com")
    assert driver.take_answered_user(identity) is None  # taken once
    assert users_numbered(sim, "2001")[0]["id"] == identity["xcu_id"]


def test_an_answer_is_not_taken_for_another_user(driver, sim):
    tenant, entity, template = known_ids(driver, sim)
    spec = user_spec(entity=entity_spec(identity=entity), template=template_spec(identity=template))
    identity = driver.create_user(tenant, spec)
    assert driver.take_answered_user(backend_ref(xcu_id=identity["xcu_id"] + 1)) is None
    assert driver.take_answered_user(identity) is None  # forgotten with the first look


def test_ids_that_went_stale_are_looked_up_again(driver, sim):
    tenant, _entity, template = known_ids(driver, sim)
    stale_entity = backend_ref(xcu_id=999, xcu_combined_id=f"gone@{tenant.server_identity['xcu_uuid']}")
    spec = user_spec(
        entity=entity_spec(identity=stale_entity), template=template_spec(identity=backend_ref(xcu_id=999))
    )
    identity = driver.create_user(tenant, spec)
    assert users_numbered(sim, "2001")[0]["id"] == identity["xcu_id"]  # made in the entity found by its name
    # an entity of another XiVO is never taken from the reference alone
    elsewhere = user_spec(
        number="2002",
        entity=entity_spec(identity=backend_ref(xcu_combined_id="acme@another-uuid")),
        template=template_spec(identity=template),
    )
    assert driver._payload_from_refs(tenant, elsewhere) is None


def test_a_retried_create_with_known_ids_adopts_only_its_own_user(driver, sim):
    tenant, entity, template = known_ids(driver, sim)
    spec = user_spec(entity=entity_spec(identity=entity), template=template_spec(identity=template))
    first = driver.create_user(tenant, spec)
    again = driver.create_user(tenant, user_spec(first_name="Augusta", entity=spec.entity, template=spec.template))
    assert again == first  # the 409 led to the user of its own entity, taken over
    assert [u["firstName"] for u in users_numbered(sim, "2001")] == ["Augusta"]
    # a user another row holds: a conflict, and nothing is written

    class Taken(base.Ownership):
        def claim(self, kind, key):
            raise ConflictError(f"{kind} {key} belongs to another row")

    with driver.owned_by(Taken()), pytest.raises(ConflictError):
        driver.create_user(tenant, user_spec(first_name="Carol", entity=spec.entity, template=spec.template))
    assert [u["firstName"] for u in users_numbered(sim, "2001")] == ["Augusta"]


def test_an_edit_with_the_ids_the_portal_holds_is_one_call(driver, sim, documented_only):
    tenant, entity, template = known_ids(driver, sim)
    refs = {"entity": entity_spec(identity=entity), "template": template_spec(identity=template)}
    identity = driver.create_user(tenant, user_spec(**refs))
    numbers = ["+3220001"] if not documented_only else []  # beyond the document, the edit sends the number
    renamed = user_spec(number="2002", first_name="Augusta", identity=identity, external_numbers=numbers, **refs)
    again, calls = calls_during(sim, lambda: driver.update_user(tenant, renamed))
    assert (again, calls) == (identity, 1)  # PUT users/<id>, as the document needs
    [held] = users_numbered(sim, "2002")
    assert (held["id"], held["firstName"], held["ctiLogin"]) == (identity["xcu_id"], "Augusta", "ada")
    assert driver.take_answered_user(identity).first_name == "Augusta"  # the answer is the read-back


def test_an_edit_looks_up_what_it_cannot_know_and_what_went_stale(driver, sim, documented_only):
    tenant, entity, template = known_ids(driver, sim)
    refs = {"entity": entity_spec(identity=entity), "template": template_spec(identity=template)}
    identity = driver.create_user(tenant, user_spec(**refs))
    # no username: the CTI login XCU holds is kept, so the user is read first
    _, calls = calls_during(sim, lambda: driver.update_user(tenant, user_spec(username="", identity=identity, **refs)))
    assert calls > 1 and users_numbered(sim, "2001")[0]["ctiLogin"] == "ada"
    # a stale template id: refused, then looked up by its name, and the edit goes through
    stale = user_spec(first_name="Bea", identity=identity, entity=refs["entity"],
                      template=template_spec(identity=backend_ref(xcu_id=999)))  # fmt: skip
    assert driver.update_user(tenant, stale) == identity
    assert users_numbered(sim, "2001")[0]["firstName"] == "Bea"
    # the user is gone from the PBX: not found, and nothing is made in its place
    driver.client.call("DELETE", f"users/{identity['xcu_id']}")
    with pytest.raises(NotFoundError):
        driver.update_user(tenant, user_spec(first_name="Cid", identity=identity, **refs))
    assert users_numbered(sim, "2001") == []
