"""The CRM integration pages, self-service and admin: a customer administrator sets up its own
Xelion tenant's integration and its users' CTI credentials; a viewer reads them; another customer's
answer 404 and change nothing; hostile text is shown escaped and kept verbatim; secrets never
appear in a page."""

from __future__ import annotations

import json

import pytest

from telephony.models import CrmEventMapping, CrmIntegration, CtiService, CtiUserCredentials, ProvisioningJob
from tenants.models import Role
from tests.factories import EntityFactory, PbxUserFactory, PlatformFactory, ServerFactory, TenantFactory

pytestmark = pytest.mark.django_db

HOSTILE = "{{ 7*7 }} <img src=x onerror=alert(1)>"
SECRET = "very-secret-password-42"


def xelion_tenant(owner, customer, name):
    platform = PlatformFactory(organization=owner, kind="xelion", base_url="http://127.0.0.1:9/")
    tenant = TenantFactory(organization=customer, server=ServerFactory(platform=platform), name=name)
    user = PbxUserFactory(entity=EntityFactory(tenant=tenant), username=f"{name}.ann")
    return tenant, user


@pytest.fixture
def world(tree):
    service = CtiService.objects.create(organization=tree.reseller, name="Reseller CTI", base_url="http://127.0.0.1:9/")
    mine, my_user = xelion_tenant(tree.reseller, tree.customer, "acme")
    theirs, their_user = xelion_tenant(tree.sibling, tree.sibling_customer, "globex")
    other_service = CtiService.objects.create(
        organization=tree.sibling, name="Sibling CTI", base_url="http://127.0.0.1:9/"
    )
    integration = CrmIntegration.objects.create(
        tenant=theirs, service=other_service, admin_username="globexadmin", admin_password=SECRET,
        authorization_server_uri="https://globex.example/token",
    )  # fmt: skip
    CtiUserCredentials.objects.create(user=their_user, client_id="globexclient", client_secret=SECRET)
    return {"service": service, "tenant": mine, "user": my_user, "theirs": theirs, "their_user": their_user,
            "their_integration": integration}  # fmt: skip


def form_data(service, **extra):
    data = {
        "service": service.pk,
        "admin_username": "admin",
        "new_admin_password": SECRET,
        "authorization_server_uri": "https://crm.example/token",
        "authorization_header_prefix": "Bearer ",
        "default_client_id": "portal",
        "new_default_client_secret": SECRET + "-default",
        "uri_newCallEvent": "https://crm.example/call",
        "payload_newCallEvent": json.dumps({"callId": "${callId}", "note": HOSTILE}),
    }
    return {**data, **extra}


def test_a_customer_administrator_sets_up_its_own_integration_and_credentials(client, member, tree, world):
    client.force_login(member(tree.customer, Role.ADMIN))
    url = f"/tenants/{world['tenant'].pk}/crm/"
    assert client.get(url).status_code == 200
    answer = client.post(url, form_data(world["service"]))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    integration = CrmIntegration.objects.get(tenant=world["tenant"])
    assert integration.admin_password == SECRET and integration.mappings.get().payload["note"] == HOSTILE
    page = client.get(url).content.decode()
    assert SECRET not in page and HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "{{ 7*7 }}" in page and "49" not in page.split("Call events")[1].split("</table>")[0]
    job = ProvisioningJob.objects.get(operation="cti.integration.upsert")
    assert SECRET not in json.dumps(job.payload)

    # a blank secret keeps the stored one
    answer = client.post(url, form_data(world["service"], new_admin_password="", authorization_header_prefix="Token "))
    assert answer.status_code == 302
    integration.refresh_from_db()
    assert integration.admin_password == SECRET and integration.authorization_header_prefix == "Token "

    user_url = f"/users/{world['user'].pk}/cti/"
    assert client.post(user_url, {"client_id": "ann-client", "new_client_secret": "ann-secret"}).status_code == 302
    credentials = CtiUserCredentials.objects.get(user=world["user"])
    assert credentials.client_secret == "ann-secret"
    page = client.get(user_url).content.decode()
    assert "ann-secret" not in page and "ann-client" in page
    assert client.post(f"/users/{world['user'].pk}/cti/remove/").status_code == 302
    assert not CtiUserCredentials.objects.filter(user=world["user"]).exists()


def test_bad_mappings_are_refused_next_to_the_form_and_change_nothing(client, member, tree, world):
    client.force_login(member(tree.customer, Role.ADMIN))
    data = form_data(world["service"], payload_newCallEvent='{"a": ', uri_missedCallEvent="javascript:alert(1)")
    answer = client.post(f"/tenants/{world['tenant'].pk}/crm/", data)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "not valid JSON" in page and "absolute http" in page
    assert not CrmIntegration.objects.filter(tenant=world["tenant"]).exists()
    assert not ProvisioningJob.objects.exists()


def test_another_customers_integration_and_credentials_answer_404(client, member, tree, world):
    client.force_login(member(tree.customer, Role.ADMIN))
    theirs, their_user = world["theirs"], world["their_user"]
    for url in (f"/tenants/{theirs.pk}/crm/", f"/users/{their_user.pk}/cti/"):
        assert client.get(url).status_code == 404
        assert client.post(url, form_data(world["service"])).status_code == 404
    for url in (f"/tenants/{theirs.pk}/crm/remove/", f"/users/{their_user.pk}/cti/remove/"):
        assert client.post(url).status_code == 404
    assert CrmIntegration.objects.filter(tenant=theirs, removal_requested=False).exists()
    assert CtiUserCredentials.objects.filter(user=their_user).exists()
    assert not ProvisioningJob.objects.exists()


def test_a_viewer_and_an_end_user_cannot_change_it(client, member, tree, world):
    viewer = member(tree.sibling_customer, Role.VIEWER)
    client.force_login(viewer)
    url = f"/tenants/{world['theirs'].pk}/crm/"
    page = client.get(url).content.decode()
    assert (
        "globexadmin" in page and SECRET not in page and "<form" not in page.split("<main")[-1].split("Call events")[1]
    )
    assert client.post(url, form_data(world["service"])).status_code == 404
    assert client.post(f"{url}remove/").status_code == 404
    assert client.post(f"/users/{world['their_user'].pk}/cti/", {"client_id": "x"}).status_code == 404
    end_user = member(tree.sibling, Role.VIEWER)  # staff of the reseller: no customer membership
    client.force_login(end_user)
    assert client.get(url).status_code == 404


def test_admin_pages_are_scoped_and_never_show_a_secret(client, member, tree, world):
    integration = world["their_integration"]
    CrmEventMapping.objects.create(integration=integration, event="newCallEvent", uri="https://globex.example/c",
                                   payload={"note": HOSTILE})  # fmt: skip
    credentials = CtiUserCredentials.objects.get(user=world["their_user"])
    client.force_login(member(tree.sibling, Role.ADMIN))
    for url in (f"/admin/telephony/crmintegration/{integration.pk}/change/",
                f"/admin/telephony/ctiusercredentials/{credentials.pk}/change/"):  # fmt: skip
        page = client.get(url).content.decode()
        assert client.get(url).status_code == 200 and SECRET not in page
    page = client.get(f"/admin/telephony/crmintegration/{integration.pk}/change/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    client.force_login(member(tree.reseller, Role.ADMIN))
    for url in (f"/admin/telephony/crmintegration/{integration.pk}/change/",
                f"/admin/telephony/ctiusercredentials/{credentials.pk}/change/",
                f"/admin/telephony/ctiservice/{integration.service_id}/change/"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert client.post(f"/admin/telephony/crmintegration/{integration.pk}/delete/", {"post": "yes"}).status_code == 404
    assert CrmIntegration.objects.filter(pk=integration.pk, removal_requested=False).exists()
