"""CRM integrations end to end: the services write jobs, the runner pushes them over real HTTP to
the CTI simulator, and a read-back sets the sync state. Created, changed (in place and remade),
deleted; credentials for 100 users; a token ending mid-sequence; an integration the portal did not
make left alone; secrets out of payloads, job logs and the audit history; placeholders verbatim."""

from __future__ import annotations

import json

import pytest
import requests
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError

from telephony.models import CrmIntegration, CtiUserCredentials, JobAttempt, ProvisioningJob, SyncState
from telephony.services import cti as services
from telephony.services.cti import MappingInput
from tests.factories import PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.cti_world import PLACEHOLDER, cti_world, run_all
from tests.telephony.sandbox.test_cti import integration_for

pytestmark = pytest.mark.django_db

HOSTILE = "{{ 7*7 }} <img src=x onerror=alert(1)>"
EVENTS = ("newCallEvent", "callConnectedEvent", "callHungUpEvent", "missedCallEvent")


def mappings(uri="https://crm.example/call", events=EVENTS):
    payload = json.dumps({"initiation": PLACEHOLDER, "callId": "${callId}", "note": HOSTILE})
    return [MappingInput(event, uri, payload) for event in events]


def create(world, actor, **fields):
    integration = CrmIntegration(
        tenant=world.tenant, service=world.service, admin_username="admin",
        authorization_server_uri="https://crm.example/oauth2/token", default_client_id="portal-client",
        **fields,
    )  # fmt: skip
    return services.crm_integration_create(
        actor=actor, integration=integration, admin_password=world.admin_password,
        default_client_secret="default-secret-xyz", mappings=mappings(),
    )  # fmt: skip


def held(world):
    """What the CTI simulator holds for the tenant (bypassing the portal)."""
    state = world.cti.simulator.state
    return [i for i in state["integrations"].values() if i["xelionContext"]["tenant"] == world.tenant.name]


@pytest.fixture
def world(serve, tree):
    return cti_world(serve, tree.reseller, tree.customer, users=100)


def test_an_integration_is_created_changed_and_deleted_on_the_cti_service(world, superuser):
    integration = create(world, superuser)
    assert integration.sync_state == SyncState.PENDING or CrmIntegration.objects.get().sync_state == "pending"
    assert set(run_all().values()) == {"succeeded"}
    integration.refresh_from_db()
    assert integration.sync_state == SyncState.VERIFIED, integration.sync_message
    [stored] = held(world)
    assert stored["xelionContext"]["id"] == integration.backend_ref["xelion_context_id"]
    payload = stored["eventUriMappings"][0]["crmResourcePayload"]
    assert payload["initiation"] == PLACEHOLDER and payload["note"] == HOSTILE, "sent verbatim, never evaluated"

    # changed in place: the same number of mappings, a new URI
    integration = CrmIntegration.objects.get()
    services.crm_integration_update(actor=superuser, integration=integration,
                                    mappings=mappings("https://crm.example/v2"))  # fmt: skip
    assert set(run_all().values()) == {"succeeded"}
    [stored] = held(world)
    assert {m["crmResourceUri"] for m in stored["eventUriMappings"]} == {"https://crm.example/v2"}
    assert stored["xelionContext"]["id"] == integration.backend_ref["xelion_context_id"], "changed in place"

    # remade: fewer mappings and another token endpoint cannot be changed in place
    integration = CrmIntegration.objects.get()
    integration.authorization_server_uri = "https://crm.example/oauth2/v2/token"
    services.crm_integration_update(actor=superuser, integration=integration, mappings=mappings(events=EVENTS[:2]))
    assert set(run_all().values()) == {"succeeded"}
    integration.refresh_from_db()
    [stored] = held(world)
    assert stored["crmContext"]["authorizationServerUri"] == "https://crm.example/oauth2/v2/token"
    assert len(stored["eventUriMappings"]) == 2 and integration.sync_state == SyncState.VERIFIED
    assert stored["xelionContext"]["id"] == integration.backend_ref["xelion_context_id"]

    services.crm_integration_delete(actor=superuser, integration=integration)
    assert CrmIntegration.objects.get().removal_requested, "kept until the CTI service no longer holds it"
    assert set(run_all().values()) == {"succeeded"}
    assert held(world) == [] and not CrmIntegration.objects.exists()


def test_credentials_for_a_hundred_users_with_a_token_ending_mid_sequence(world, superuser):
    create(world, superuser)
    world.cti.simulator.set_faults({"session_expiry_calls": 9})  # ends every ninth call: one fresh login
    for n, user in enumerate(world.users, start=1):
        secret = {"client_secret": f"user-secret-{n:03}"} if n % 2 else {}
        services.cti_credentials_set(actor=superuser, user=user, client_id=f"client-{n}" if n % 3 else "", **secret)
    outcomes = run_all()
    assert set(outcomes.values()) == {"succeeded"}, outcomes
    assert CtiUserCredentials.objects.filter(sync_state=SyncState.VERIFIED).count() == 100
    users = world.cti.simulator.state["users"].values()
    assert len(users) == 100
    by_name = {u["xelionUsername"]: u for u in users}
    assert by_name["user1"]["_clientSecret"] == "user-secret-001"
    assert (by_name["user2"]["_clientId"], by_name["user2"]["_clientSecret"]) == ("client-2", "default-secret-xyz")
    assert by_name["user3"]["_clientId"] == "portal-client", "no client id of its own: the default"

    # a changed secret is an update of the same user on the service; clearing takes it off
    services.cti_credentials_set(actor=superuser, user=world.users[0], refresh_token="refresh-secret-new")
    services.cti_credentials_clear(actor=superuser, user=world.users[1])
    assert set(run_all().values()) == {"succeeded"}
    users = {u["xelionUsername"]: u for u in world.cti.simulator.state["users"].values()}
    assert users["user1"]["_refreshToken"] == "refresh-secret-new" and "user2" not in users

    every_secret = ["user-secret-001", "user-secret-099", "default-secret-xyz", "refresh-secret-new",
                    world.admin_password]  # fmt: skip
    payloads = json.dumps(list(ProvisioningJob.objects.values_list("payload", flat=True)))
    logs = json.dumps(list(JobAttempt.objects.values_list("exchanges", flat=True)))
    history = json.dumps(list(LogEntry.objects.values_list("changes", flat=True)))
    for secret in every_secret:
        assert secret not in payloads and secret not in logs and secret not in history, secret
    assert "user-secret" not in logs
    assert JobAttempt.objects.filter(outcome="succeeded").count() == ProvisioningJob.objects.count()


def test_a_user_unknown_to_xelion_fails_alone_with_the_services_words(world, superuser):
    create(world, superuser)
    world.users[0].username = "nobody"
    world.users[0].save(update_fields=["username"])
    services.cti_credentials_set(actor=superuser, user=world.users[0], client_id="c1")
    services.cti_credentials_set(actor=superuser, user=world.users[1], client_id="c2")
    run_all()
    failed = CtiUserCredentials.objects.get(user=world.users[0])
    assert failed.sync_state == SyncState.FAILED and "not in the Xelion" in failed.sync_message
    assert CtiUserCredentials.objects.get(user=world.users[1]).sync_state == SyncState.VERIFIED


def test_an_integration_the_portal_did_not_make_is_a_conflict_and_stays(world, superuser):
    made = requests.post(f"{world.cti.base_url}/api/crm-integrations", timeout=5, json={
        **integration_for("acme"),
        "xelionContext": {**integration_for("acme")["xelionContext"], "host": world_host(world)},
    })  # fmt: skip
    assert made.ok, made.text
    create(world, superuser)
    run_all()
    job = ProvisioningJob.objects.get(operation="cti.integration.upsert")
    assert job.error_kind == "conflict", job.last_error
    [stored] = held(world)
    assert stored["crmContext"]["authorizationServerUri"] == "https://example.org/services/oauth2/token"
    assert CrmIntegration.objects.get().sync_state == SyncState.FAILED


def world_host(world) -> str:
    from urllib.parse import urlsplit

    return urlsplit(world.tenant.server.platform.base_url).netloc


def test_bad_input_changes_nothing_and_says_why(world, superuser):
    bad = [
        MappingInput("smsEvent", "https://crm.example/x"),
        MappingInput("newCallEvent", "ftp://crm.example/x"),
        MappingInput("callHungUpEvent", "https://crm.example/x", '{"a": '),
        MappingInput("missedCallEvent", "https://crm.example/x", "[1, 2]"),
        MappingInput("callConnectedEvent", "https://10.1.2.3/x"),
    ]
    integration = CrmIntegration(tenant=world.tenant, service=world.service, admin_username="admin",
                                 authorization_server_uri="https://crm.example/token")  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        services.crm_integration_create(actor=superuser, integration=integration, admin_password="x", mappings=bad)
    messages = " ".join(refused.value.messages)
    for words in ("not a call event of the CTI service", "absolute http", "not valid JSON", "JSON object", "10.1.2.3"):
        assert words in messages, messages
    assert not CrmIntegration.objects.exists() and not ProvisioningJob.objects.exists()


def test_only_tenants_whose_platform_offers_it_get_an_integration(world, superuser, tree):
    xcu_tenant = TenantFactory(organization=tree.customer, server=ServerFactory(platform=PlatformFactory(kind="xcu")))
    integration = CrmIntegration(tenant=xcu_tenant, service=world.service, admin_username="admin",
                                 authorization_server_uri="https://crm.example/token")  # fmt: skip
    with pytest.raises(ValidationError, match="can have a CRM integration"):
        services.crm_integration_create(actor=superuser, integration=integration, admin_password="x")
    with pytest.raises(ValidationError, match="no CRM integration"):
        services.cti_credentials_set(actor=superuser, user=world.users[0], client_id="c")
