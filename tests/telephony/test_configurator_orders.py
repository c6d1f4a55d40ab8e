"""A customer's tenant opened by one Configurator order, over real HTTP: the Park Manager opens the
tenant and hands over its token, the Configurator builds it and reports to the order's own webhook
on the portal's live server (in order, twice, out of order, or never), and what it built comes
into the mirror without a second push."""

from __future__ import annotations

import copy
import time

import pytest
import requests
from django.core.exceptions import ValidationError

from telephony.backends.configurator import ConfiguratorClient
from telephony.backends.errors import NotFoundError
from telephony.models import (
    ConfiguratorLink,
    ConfiguratorOrderEvent,
    OrderStatus,
    PbxUser,
    ProvisioningJob,
    SyncState,
)
from telephony.provisioning import runner
from telephony.sandbox.configurator import ROOT_KEY, ConfiguratorSimulator
from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.services import configurator_orders as orders
from telephony.services.configurator import (
    configurator_credential_store,
    configurator_link_create,
    configurator_suborganization_create,
)
from tests.factories import LineTemplateFactory, PlatformFactory, ServerFactory
from tests.telephony.drift.helpers import run_all
from tests.telephony.sandbox.test_configurator import ORDER

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(serve, tree, superuser, live_server, settings):
    settings.PORTAL_PUBLIC_URL = live_server.url
    server_sim, park_manager_sim = build_xelion_park()
    xelion = serve(server_sim)
    park_manager = serve(park_manager_sim)
    simulator = ConfiguratorSimulator(order_delay_seconds=0.05)
    configurator = serve(simulator)
    platform = PlatformFactory(organization=tree.distributor, kind="xelion_pm", base_url=park_manager.base_url,
                               username="", secret=ROOT_API_KEY)  # fmt: skip
    server = ServerFactory(platform=platform, name="xelion-1", backend_ref={"xelion_oid": "1"})
    link = configurator_link_create(
        actor=superuser,
        link=ConfiguratorLink(organization=tree.reseller, name="Reseller", base_url=configurator.base_url),
        api_key=ROOT_KEY,
    )
    run_all()
    link.refresh_from_db()
    template = LineTemplateFactory(organization=tree.customer, name="standard")

    class World:
        pass

    w = World()
    w.tree, w.actor, w.server, w.link, w.template = tree, superuser, server, link, template
    w.configurator, w.simulator, w.xelion = configurator, simulator, xelion
    return w


def place(world, configuration=ORDER, name="fairy"):
    new_tenant = orders.NewTenant(organization=world.tree.customer, server=world.server, name=name, licences=10)
    order = orders.configurator_order_place(
        actor=world.actor, link=world.link, new_tenant=new_tenant, template=world.template,
        configuration=copy.deepcopy(configuration),
    )  # fmt: skip
    run_all()  # the tenant at the Park Manager, then the order with the tenant's token
    return order


def webhooks(world, mode):
    requests.put(f"{world.configurator.base_url}/_sandbox/webhooks", json={"mode": mode, "delay_seconds": 0.3},
                 timeout=5).raise_for_status()  # fmt: skip


def wait_for_reports(order, count, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ConfiguratorOrderEvent.objects.filter(order=order, source="webhook").count() >= count:
            return
        time.sleep(0.05)
    raise AssertionError(list(ConfiguratorOrderEvent.objects.filter(order=order).values_list("status", "mid")))


def apply_reports(order):
    """What the apply task does for every kept report (the queue is not consumed in these tests)."""
    for event in ConfiguratorOrderEvent.objects.filter(order=order, outcome="").order_by("id"):
        orders.configurator_event_apply(event_id=event.pk)
    order.refresh_from_db()


def test_the_link_learns_the_organization_its_key_acts_for(world):
    assert world.link.configurator_id is not None and world.link.sync_state == SyncState.VERIFIED


def test_the_dry_run_gives_the_configurators_cause_and_changes_nothing(world):
    bad = copy.deepcopy(ORDER)
    bad["departments"][1]["internalNumbers"] = ["911"]
    cause = orders.configurator_order_test(actor=world.actor, link=world.link, configuration=bad)
    assert "911 is an emergency or reserved number" in cause
    assert orders.configurator_order_test(actor=world.actor, link=world.link, configuration=ORDER) == ""
    assert not requests.get(f"{world.configurator.base_url}/api/v1/orders", headers={"X-Auth-Key": ROOT_KEY},
                            timeout=5).json()  # fmt: skip


def test_an_order_completes_and_its_tenant_comes_into_the_mirror(world):
    order = place(world)
    order.refresh_from_db()
    assert order.configurator_id is not None
    wait_for_reports(order, 2)
    apply_reports(order)
    assert order.status == OrderStatus.COMPLETED and order.finished_at is not None
    outcome = orders.configurator_order_import(order_id=order.pk)
    assert outcome.startswith("3 user(s) and 2 department(s)"), outcome
    users = {u.username: u for u in PbxUser.objects.filter(tenant=order.tenant)}
    assert set(users) == {"ann", "ben", "cy"}
    assert all(u.sync_state == SyncState.VERIFIED for u in users.values())
    pushes = [job.operation for job in order.tenant.jobs.all()]
    assert not [op for op in pushes if op.startswith("user.")], pushes  # no second push


@pytest.mark.parametrize("mode", ["twice", "out_of_order", "late"])
def test_duplicated_late_and_out_of_order_reports_end_the_same(world, mode):
    webhooks(world, mode)
    order = place(world)
    wait_for_reports(order, 2)
    if mode == "twice":
        deadline = time.monotonic() + 10
        while len(world.simulator.state["sent"]) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    apply_reports(order)
    assert order.status == OrderStatus.COMPLETED
    outcomes = list(ConfiguratorOrderEvent.objects.filter(order=order).values_list("source", "status", "outcome"))
    if mode == "out_of_order":
        assert ("webhook", "IN_PROGRESS", "older than the report the order already has: ignored") in outcomes
    if mode == "twice":  # the second delivery of each message was kept once: same mid
        assert ConfiguratorOrderEvent.objects.filter(order=order, source="webhook").count() == 2


def test_a_duplicate_report_is_answered_and_changes_nothing(world, live_server):
    order = place(world)
    wait_for_reports(order, 2)
    apply_reports(order)
    event = ConfiguratorOrderEvent.objects.filter(order=order, source="webhook").order_by("mid").first()
    body = {"mid": event.mid, "type": "orderStatusChanged", "data": {"id": order.configurator_id,
            "status": event.status}}  # fmt: skip
    url = f"{live_server.url}/hooks/configurator/orders/{order.public_id}/{order.callback_secret}/"
    answer = requests.post(url, json=body, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"result": "already received"}
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_no_webhook_the_sweep_reads_the_status_and_the_order_still_ends(world, settings):
    settings.CONFIGURATOR_ORDER_POLL_SECONDS = 0
    webhooks(world, "never")
    order = place(world)
    time.sleep(0.5)  # the Configurator carries it out, and says nothing
    assert orders.configurator_orders_sweep()["checked"] == 1
    run_all()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert ConfiguratorOrderEvent.objects.filter(order=order, source="poll", status="COMPLETED").exists()


def test_a_failed_order_shows_the_configurators_reason(world):
    world.simulator.order_delay_seconds = 1.0
    order = place(world)
    # the tenant's server goes down while the Configurator builds it
    requests.put(f"{world.xelion.base_url}/_sandbox/faults", json={"down": True}, timeout=5).raise_for_status()
    wait_for_reports(order, 2)
    apply_reports(order)
    assert order.status == OrderStatus.FAILED
    run_all()  # the status read that learns why
    order.refresh_from_db()
    assert "HTTP 503" in order.error, order.error


def test_webhooks_for_unknown_orders_or_with_a_wrong_secret_change_nothing(world, live_server):
    webhooks(world, "never")
    order = place(world)
    body = {"mid": 999, "type": "orderStatusChanged", "data": {"id": order.configurator_id, "status": "FAILED"}}
    base = f"{live_server.url}/hooks/configurator/orders"
    assert requests.post(f"{base}/{order.public_id}/wrong-secret/", json=body, timeout=5).status_code == 404
    other = "00000000-0000-4000-8000-000000000000"
    assert requests.post(f"{base}/{other}/{order.callback_secret}/", json=body, timeout=5).status_code == 404
    url = f"{base}/{order.public_id}/{order.callback_secret}/"
    assert requests.post(url, data=b"{{ 7*7 }}", timeout=5).status_code == 400
    assert requests.post(url, json={**body, "data": {"id": 12345, "status": "FAILED"}}, timeout=5).status_code == 400
    assert requests.get(url, timeout=5).status_code == 405
    assert not ConfiguratorOrderEvent.objects.filter(order=order, source="webhook").exists()


def test_an_order_refuses_a_customer_outside_the_links_organization(world):
    new_tenant = orders.NewTenant(organization=world.tree.sibling_customer, server=world.server, name="elsewhere")
    with pytest.raises(ValidationError, match="its own customers only"):
        orders.configurator_order_place(actor=world.actor, link=world.link, new_tenant=new_tenant,
                                        template=world.template, configuration=ORDER)  # fmt: skip


def test_a_submit_retried_after_a_lost_answer_takes_its_own_order_not_a_second(world):
    order = place(world)
    order.refresh_from_db()
    first = order.configurator_id
    job = order.tenant.jobs.get(operation="configurator.order.submit")
    # as if the answer had been lost: the job runs again with no identity recorded
    type(order).objects.filter(pk=order.pk).update(backend_ref={})
    type(job).objects.filter(pk=job.pk).update(status="pending", attempts=1)
    runner.run_job(job.pk)
    order.refresh_from_db()
    assert order.configurator_id == first
    listed = requests.get(f"{world.configurator.base_url}/api/v1/orders", headers={"X-Auth-Key": ROOT_KEY}, timeout=5)
    assert len(listed.json()) == 1


def test_a_sub_organization_gets_a_key_of_its_own_that_never_sees_its_parents_orders(world):
    child = configurator_suborganization_create(
        actor=world.actor, parent=world.link, organization=world.tree.customer, name="Customer"
    )
    run_all()
    child.refresh_from_db()
    assert child.api_key and child.api_key != ROOT_KEY and child.configurator_id != world.link.configurator_id
    assert child.sync_state == SyncState.VERIFIED
    order = place(world)
    order.refresh_from_db()
    own_key = ConfiguratorClient(world.configurator.base_url, child.api_key)
    with pytest.raises(NotFoundError):
        own_key.order(order.configurator_id)
    assert own_key.orders() == []


def test_a_credential_is_kept_at_the_configurator_and_never_in_a_job(world):
    credential = configurator_credential_store(actor=world.actor, link=world.link, name="sip-trunk", value="s3cr3t!")
    run_all()
    credential.refresh_from_db()
    assert credential.sync_state == SyncState.VERIFIED
    client = ConfiguratorClient(world.configurator.base_url, ROOT_KEY)
    assert client.credential_names(world.link.configurator_id) == ["sip-trunk"]
    job = ProvisioningJob.objects.get(operation="configurator.credential.store")
    logged = str(job.payload) + str(list(job.attempt_log.values_list("exchanges", flat=True)))
    assert "s3cr3t!" not in logged and "sip-trunk" in logged
