"""Every multi-call operation of every driver converges when it is replayed from any point.

A job that fails part-way (a timeout, a 5xx, a worker killed) is run again from the start, with what
the portal knew before it: what the first attempt already changed must not stop the second, nor be
done twice. For each operation this drives the simulator to fail at each of the operation's calls in
turn, once before the call is carried out and once after (the change is made, its answer lost), then
runs the operation again and compares the PBX with a run that met no fault.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import pytest

from telephony.backends.base import (
    KIND_XC5,
    KIND_XCU,
    KIND_XELION_SERVER,
    Connection,
    Driver,
    EntitySpec,
    ForwardingSpec,
    IntervalSpec,
    TemplateSpec,
    TenantRef,
    TenantSpec,
    UserSpec,
)
from telephony.backends.errors import TransientError
from telephony.backends.registry import driver_for
from telephony.sandbox.base import FaultConfig
from telephony.sandbox.server import serve_in_thread
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.sandbox.xelion import MASTER_PASSWORD, XelionServerSimulator

# --- the platforms -----------------------------------------------------------------------------------


@dataclass
class Platform:
    name: str
    simulator: Callable[[], Any]
    connection: Callable[[str], Connection]
    prepare: Callable[[Driver], SimpleNamespace]
    summary: Callable[[dict], Any]


def _xcu_prepare(driver: Driver) -> SimpleNamespace:
    tenant = TenantRef(name="acme", server_name="xivo-220", server_identity={"xcu_id": 1})
    entity = EntitySpec(name="sales", display_name="Sales", intervals=[IntervalSpec("2000", "2099")])
    entity.identity = driver.upsert_entity(tenant, entity)
    template = TemplateSpec(name="Standard")
    template.identity = driver.upsert_template(tenant, template)
    return SimpleNamespace(tenant=tenant, entity=entity, template=template)


def _xcu_summary(state: dict) -> Any:
    entities = {e["id"]: e["name"] for e in state["entities"]}
    users = sorted(
        (u["internalNumber"], u["firstName"], u["lastName"], entities[u["entityId"]], u.get("mail"),
         u.get("ctiLogin"), u.get("externalNumber"))
        for u in state["users"]
    )  # fmt: skip
    return users, sorted((t["name"], sorted(t.get("xivos", []))) for t in state["templates"])


def _xc5_prepare(driver: Driver) -> SimpleNamespace:
    info = driver.create_tenant(TenantSpec(name="acmebrick.x.co.nz"))
    tenant = TenantRef(name="acmebrick.x.co.nz", identity=info.identity)
    return SimpleNamespace(tenant=tenant, entity=EntitySpec(name="office", intervals=[IntervalSpec("600", "699")]),
                           template=TemplateSpec(name="standard", voicemail_enabled=True))  # fmt: skip


def _xc5_summary(state: dict) -> Any:
    accounts = {a["guid"]: a for a in state["accounts"].values()}

    def owner(item: dict) -> str:
        return accounts.get(item["account_guid"], {}).get("username", "?")

    def ours(name: str) -> bool:
        return name.endswith("acmebrick.x.co.nz")

    return (
        sorted((a["username"], a.get("description"), bool(a.get("ums_pin")), a.get("cfna_dest"), a.get("cfna_active"))
               for a in accounts.values() if ours(a["username"])),
        sorted((owner(r), r.get("order"), r.get("prefix_raw"), r.get("username"), r.get("destination"))
               for r in state["callrules"].values() if ours(owner(r))),
        sorted((owner(r), r.get("order"), r.get("destination")) for r in state["routes"].values() if ours(owner(r))),
        sorted((n["number"], owner(n)) for n in state["numbers"].values() if ours(owner(n))),
    )  # fmt: skip


def _xelion_prepare(driver: Driver) -> SimpleNamespace:
    info = driver.create_tenant(TenantSpec(name="acme", label="Acme", licences=50))
    tenant = TenantRef(name="acme", identity=info.identity)
    entity = EntitySpec(name="sales", display_name="Sales", intervals=[IntervalSpec("200", "299")])
    entity.identity = driver.upsert_entity(tenant, entity)
    return SimpleNamespace(tenant=tenant, entity=entity, template=TemplateSpec(name="standard"))


def _xelion_summary(state: dict) -> Any:
    tenant = next(t for t in state["tenants"].values() if t["name"] == "acme")
    objects = tenant["objects"].values()

    def of(kind: str) -> list[dict]:
        return [o for o in objects if o["objectType"] == kind]

    return (
        sorted((u["userName"], u.get("commonName"), u.get("xccRole")) for u in of("UserProfile")),
        sorted((p.get("givenName"), p.get("familyName"), len(p.get("addresses") or [])) for p in of("Person")),
        sorted(sorted(e["address"] for e in line.get("extensions") or []) for line in of("XCCPhoneLine")),
        sorted((g["commonName"], len(g.get("members") or [])) for g in of("UserGroup")),
    )


PLATFORMS = {
    "xcu": Platform(
        "xcu",
        XcuSimulator,
        lambda url: Connection(kind=KIND_XCU, base_url=url, username="admin", secret="superpass", timeout=5),
        _xcu_prepare,
        _xcu_summary,
    ),
    "xc5": Platform(
        "xc5",
        Xc5Simulator,
        lambda url: Connection(
            kind=KIND_XC5, base_url=url, username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD, timeout=5
        ),
        _xc5_prepare,
        _xc5_summary,
    ),
    "xelion": Platform(
        "xelion",
        XelionServerSimulator,
        lambda url: Connection(
            kind=KIND_XELION_SERVER, base_url=url, username="admin", secret=MASTER_PASSWORD, timeout=5
        ),
        _xelion_prepare,
        _xelion_summary,
    ),
}

# --- the operations ----------------------------------------------------------------------------------


def _user(world: SimpleNamespace, number: str, **fields: Any) -> UserSpec:
    return UserSpec(username=fields.pop("username", "ada"), first_name=fields.pop("first_name", "Ada"),
                    last_name="Lovelace", internal_number=number, entity=world.entity, template=world.template,
                    **fields)  # fmt: skip


def _number(name: str) -> str:
    return {"xcu": "+31201234501", "xc5": "+6491231201", "xelion": "+31201234501"}[name]


@dataclass
class Operation:
    """One driver operation, after its preconditions; returns what the portal would store."""

    name: str
    platforms: tuple[str, ...]
    before: Callable[[Driver, SimpleNamespace, str], Any]
    run: Callable[[Driver, SimpleNamespace, str, Any], Any]


def _nothing(driver: Driver, world: SimpleNamespace, name: str) -> None:
    return None


def _made(driver: Driver, world: SimpleNamespace, name: str) -> UserSpec:
    number = "601" if name == "xc5" else "201" if name == "xelion" else "2001"
    spec = _user(world, number, email="ada@example.net")
    spec.identity = driver.create_user(world.tenant, spec)
    return spec


def _with_number(driver: Driver, world: SimpleNamespace, name: str) -> UserSpec:
    spec = _made(driver, world, name)
    driver.assign_number(world.tenant, spec, _number(name))
    return replace(spec, external_numbers=[_number(name)])


def _renamed(spec: UserSpec, name: str) -> UserSpec:
    number = "602" if name == "xc5" else "202" if name == "xelion" else "2002"
    return replace(spec, username="augusta", first_name="Augusta", internal_number=number,
                   forwarding=ForwardingSpec(no_answer="0612345678", no_answer_timeout=25))  # fmt: skip


def _create_first_try(driver, world, name: str, _):
    """A create whose first run is a first try (`UserSpec.first_try`: no look-ups); its replay, a
    later attempt, is not."""
    first = not getattr(world, "tried", False)
    world.tried = True
    number = "601" if name == "xc5" else "201" if name == "xelion" else "2001"
    spec = _user(world, number, email="ada@example.net", external_numbers=[_number(name)])
    return driver.create_user(world.tenant, replace(spec, first_try=first))


OPERATIONS = [
    Operation("create, first try", ("xcu", "xc5", "xelion"), _nothing, _create_first_try),
    Operation(
        "create",
        ("xcu", "xc5", "xelion"),
        _nothing,
        lambda d, w, n, _: d.create_user(
            w.tenant,
            _user(
                w,
                "601" if n == "xc5" else "201" if n == "xelion" else "2001",
                email="ada@example.net",
                external_numbers=[_number(n)],
            ),
        ),
    ),
    Operation(
        "rename and renumber",
        ("xcu", "xc5", "xelion"),
        _made,
        lambda d, w, n, spec: d.update_user(w.tenant, _renamed(spec, n)),
    ),
    Operation("delete", ("xcu", "xc5", "xelion"), _made, lambda d, w, n, spec: d.delete_user(w.tenant, spec)),
    Operation(
        "assign a number",
        ("xcu", "xc5", "xelion"),
        _made,
        lambda d, w, n, spec: d.assign_number(w.tenant, spec, _number(n)),
    ),
    Operation(
        "unassign a number",
        ("xcu", "xc5", "xelion"),
        _with_number,
        lambda d, w, n, spec: d.unassign_number(w.tenant, spec, _number(n)),
    ),
    Operation(
        "create a tenant",
        ("xc5", "xelion"),
        _nothing,
        lambda d, w, n, _: d.create_tenant(
            TenantSpec(name="initech.x.co.nz" if n == "xc5" else "initech", label="Initech", licences=10)
        ),
    ),
]

CASES = [(platform, operation) for operation in OPERATIONS for platform in operation.platforms]


_SERVED: dict[str, Any] = {}


def _fresh(platform: Platform):
    """The platform's simulator (one server per platform, reset to its seed) and a new driver."""
    if platform.name not in _SERVED:
        _SERVED[platform.name] = serve_in_thread(platform.simulator())
    running = _SERVED[platform.name]
    running.simulator.faults = FaultConfig()
    running.simulator.set_faults({"fail_call": 0})
    running.simulator.reset()
    driver = driver_for(platform.connection(running.base_url + _api_path(platform.name)))
    return running, driver


@pytest.fixture(scope="module", autouse=True)
def _stop_servers():
    yield
    for running in _SERVED.values():
        running.stop()
    _SERVED.clear()


def _api_path(name: str) -> str:
    return {"xcu": "/api/1.0/", "xc5": "", "xelion": ""}[name]


def _run(platform: Platform, operation: Operation, *, fail_call: int = 0, after: bool = False):
    """The operation on a fresh simulator, failing at `fail_call` (then replayed); the PBX after it
    and the number of calls the operation made."""
    running, driver = _fresh(platform)
    try:
        world = platform.prepare(driver)
        given = operation.before(driver, world, platform.name)
        sim = running.simulator
        calls_before = sim.api_calls
        if fail_call:
            sim.set_faults({"fail_call": fail_call, "fail_after_applying": after})
            with contextlib.suppress(TransientError):  # what the engine would retry
                operation.run(driver, world, platform.name, given)
            sim.set_faults({"fail_call": 0})
        operation.run(driver, world, platform.name, given)
        return platform.summary(sim.snapshot()), sim.api_calls - calls_before
    finally:
        driver.close()


@pytest.mark.parametrize(("platform", "operation"), CASES, ids=[f"{p}-{o.name}" for p, o in CASES])
def test_an_operation_replayed_after_a_failure_at_any_of_its_calls_ends_as_if_nothing_failed(platform, operation):
    chosen = PLATFORMS[platform]
    expected, calls = _run(chosen, operation)
    assert calls > 0
    diverged = []
    for fail_call in range(1, calls + 1):
        for after in (False, True):
            got, _ = _run(chosen, operation, fail_call=fail_call, after=after)
            if got != expected:
                diverged.append(f"call {fail_call} failing {'after' if after else 'before'} being carried out: {got}")
    assert not diverged, f"expected {expected}\n" + "\n".join(diverged)
