"""The CTI client against the CTI simulator over real HTTP: an integration created, found, changed
and deleted; credentials for 100 users; a token that ends mid-sequence renewed by one login;
secrets kept out of the exchange log; placeholders sent verbatim."""

from __future__ import annotations

import json

import pytest

from telephony.backends.cti import CtiClient, EventMapping, UserCredentials, XelionContext
from telephony.backends.errors import AuthenticationError, RejectedError
from telephony.sandbox.xelion_tenants import tenant_admin_password
from tests.telephony.sandbox.test_cti import HOST, cti  # noqa: F401

PLACEHOLDER = '${(initiation=="outgoing")?"calldialed":"callreceived"}'
MAPPINGS = [EventMapping(event, "https://crm.example/call", {"initiation": PLACEHOLDER, "callId": "${callId}"})
            for event in ("newCallEvent", "callConnectedEvent", "callHungUpEvent", "missedCallEvent")]  # fmt: skip


@pytest.fixture
def client(cti):  # noqa: F811
    client = CtiClient(cti.base_url, XelionContext(HOST, "acme", "admin", tenant_admin_password("acme")))
    yield client
    client.close()


def test_an_integration_is_made_changed_and_deleted(client):
    assert client.find() is None
    made = client.create("https://crm.example/oauth2/token", "Bearer ", MAPPINGS,
                         [UserCredentials("user1", client_id="c1", client_secret="very-secret-1")])  # fmt: skip
    found = client.find()
    assert (found.xelion_context_id, found.authorization_header_prefix) == (made.xelion_context_id, "Bearer ")
    assert client.mappings(found)[0].payload["initiation"] == PLACEHOLDER, "sent and kept verbatim"
    client.replace_mappings(found, [EventMapping(m.event, "https://crm.example/v2", None) for m in MAPPINGS])
    assert {m.uri for m in client.mappings(found)} == {"https://crm.example/v2"}
    client.delete(found)
    client.delete(found)  # already gone
    assert client.find() is None


def test_credentials_for_a_hundred_users_and_a_token_ending_mid_sequence(client, cti):  # noqa: F811
    integration = client.create("https://crm.example/oauth2/token", "Bearer ", MAPPINGS)
    cti.simulator.set_faults({"session_expiry_calls": 7})  # ends every seventh call: renewed, nothing lost
    ids = [client.add_user(integration, UserCredentials(f"user{n}", f"c{n}", f"secret-{n:03}")) for n in range(1, 101)]
    assert len(set(ids)) == 100 and len(client.users(integration)) == 100
    client.update_user_secret(ids[0], "refresh_token", "refresh-secret-new")
    client.remove_user(ids[1])
    assert [u["xelionUsername"] for u in client.users(integration, username="user2")] == []
    with pytest.raises(RejectedError, match="not in the Xelion"):
        client.add_user(integration, UserCredentials("nobody"))
    log = json.dumps(client.http.log.as_list())
    assert "secret-042" not in log and "refresh-secret-new" not in log
    assert tenant_admin_password("acme") not in log and client.token not in log


def test_wrong_administrator_credentials(cti):  # noqa: F811
    client = CtiClient(cti.base_url, XelionContext(HOST, "acme", "admin", "wrong"))
    with pytest.raises(AuthenticationError):
        client.find()
    with pytest.raises(RejectedError, match="not a Xelion call event"):
        client.create("https://crm.example/token", "", [EventMapping("smsEvent", "https://crm.example")])
