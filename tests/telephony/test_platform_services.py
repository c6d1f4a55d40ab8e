"""Connection test and server import, against the simulators over real HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import Server, Tenant
from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.platforms import platform_check, servers_import
from tenants.models import Role
from tests.factories import PlatformFactory, ServerFactory

pytestmark = pytest.mark.django_db


def test_connection_test_shows_the_version(serve, tree):
    sim = serve(XcuSimulator())
    platform = PlatformFactory(organization=tree.reseller, kind="xcu", base_url=sim.base_url + "/api/1.0/")
    checked = platform_check(platform_id=platform.pk)
    assert checked.last_check_ok is True and "XCU" in checked.last_check_message


def test_connection_test_explains_a_refusal_in_plain_words(serve, tree):
    sim = serve(XcuSimulator())
    platform = PlatformFactory(organization=tree.reseller, kind="xcu", base_url=sim.base_url, secret="wrong")
    checked = platform_check(platform_id=platform.pk)
    assert checked.last_check_ok is False and "refused the credentials" in checked.last_check_message
    platform.base_url = "http://127.0.0.1:9/"
    platform.save()
    assert "did not answer" in platform_check(platform_id=platform.pk).last_check_message


def test_import_brings_in_the_xivos_of_an_xcu_once(serve, tree, member):
    sim = serve(XcuSimulator())
    platform = PlatformFactory(organization=tree.reseller, kind="xcu", base_url=sim.base_url)
    admin = member(tree.reseller, Role.ADMIN)
    assert "2 new server" in servers_import(actor=admin, platform_id=platform.pk)
    assert "0 new server(s), refreshed 2" in servers_import(actor=admin, platform_id=platform.pk)
    xivo = Server.objects.get(platform=platform, backend_ref__xcu_id=1)
    assert (xivo.name, xivo.remaining_slots, xivo.capacity_users) == ("xivo-220", 664, 664)


def test_import_adopts_the_tenants_a_park_manager_key_sees(serve, tree, member):
    server_sim, pm_sim = build_xelion_park()
    serve(server_sim)
    pm = serve(pm_sim)
    platform = PlatformFactory(
        organization=tree.reseller, kind="xelion_pm", base_url=pm.base_url, username="", secret=ROOT_API_KEY
    )
    from telephony.backends.base import Connection, TenantSpec
    from telephony.backends.registry import driver_for

    driver = driver_for(Connection(kind="xelion_pm", base_url=pm.base_url, secret=ROOT_API_KEY))
    driver.create_tenant(TenantSpec(name="existing", label="Existing Ltd", licences=5))
    driver.close()
    summary = servers_import(actor=member(tree.reseller, Role.ADMIN), platform_id=platform.pk)
    assert "adopted 1 tenant" in summary
    tenant = Tenant.objects.get(name="existing")
    assert tenant.organization.parent == tree.reseller and tenant.organization.kind == "customer"
    assert tenant.backend_ref.get("xelion_tenant_id") and tenant.sync_state == "in_sync"


def test_only_platform_managers_import(serve, tree, member):
    sim = serve(XcuSimulator())
    platform = PlatformFactory(organization=tree.reseller, kind="xcu", base_url=sim.base_url)
    from django.http import Http404

    with pytest.raises(Http404):
        servers_import(actor=member(tree.reseller, Role.OPERATOR), platform_id=platform.pk)


def test_admin_actions_queue_the_work(tree, member, client, django_capture_on_commit_callbacks):
    platform = PlatformFactory(organization=tree.reseller)
    client.force_login(member(tree.reseller, Role.ADMIN))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("admin:telephony_platform_changelist"),
            {"action": "test_connection", "_selected_action": [platform.pk]},
            follow=True,
        )
    assert "queued" in response.content.decode()
    assert len(callbacks) == 1


def test_a_connection_test_refreshes_the_free_slots_of_known_xivos(serve, tree):
    sim = serve(XcuSimulator())
    platform = PlatformFactory(organization=tree.reseller, kind="xcu", base_url=sim.base_url + "/api/1.0/")
    known = ServerFactory(platform=platform, name="xivo-220", backend_ref={"xcu_id": 1}, remaining_slots=None)
    assert platform_check(platform_id=platform.pk).last_check_ok is True
    known.refresh_from_db()
    assert known.remaining_slots == 664
    assert Server.objects.filter(platform=platform).count() == 1, "a connection test imports nothing"


def test_a_platform_shared_from_above_is_left_out_of_the_actions_with_a_message(
    tree, member, client, django_capture_on_commit_callbacks
):
    shared = PlatformFactory(organization=tree.distributor)
    own = PlatformFactory(organization=tree.reseller)
    client.force_login(member(tree.reseller, Role.ADMIN))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("admin:telephony_platform_changelist"),
            {"action": "test_connection", "_selected_action": [shared.pk, own.pk]},
            follow=True,
        )
    body = response.content.decode()
    assert response.status_code == 200 and "queued" in body and "1 selected platform(s) left out" in body
    assert len(callbacks) == 1, "only the platform the login manages receives calls"


def test_every_active_platform_is_tested_when_due_and_its_servers_free_slots_kept_current(
    serve, tree, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from telephony import queue
    from telephony.models import Platform
    from telephony.services.platforms import platforms_check_due

    settings.PLATFORM_CHECK_INTERVAL_MINUTES = 60
    sent = []
    queue.register(lambda task, args, countdown: sent.append((task, args)))
    try:
        sim = serve(XcuSimulator())
        due = PlatformFactory(organization=tree.reseller, kind="xcu", base_url=sim.base_url + "/api/1.0/")
        PlatformFactory(organization=tree.reseller, kind="xcu", is_active=False)
        fresh = PlatformFactory(organization=tree.reseller, kind="xcu")
        Platform.objects.filter(pk=fresh.pk).update(last_checked_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            assert platforms_check_due() == 1
        assert sent == [(queue.CHECK_PLATFORM, (due.pk,))]
        server = ServerFactory(platform=due, backend_ref={"xcu_id": 1})
        platform_check(platform_id=due.pk)  # what the queued task runs
        server.refresh_from_db()
        assert server.remaining_slots is not None
        settings.PLATFORM_CHECK_INTERVAL_MINUTES = 0
        Platform.objects.update(last_checked_at=timezone.now() - timedelta(days=1))
        assert platforms_check_due() == 0
    finally:
        from telephony import tasks

        queue.register(tasks.send)
