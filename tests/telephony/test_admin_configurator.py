"""The Configurator in the admin: links whose key is write-only and changed only with the staff
member's own password, sub-organizations and credentials made by jobs, the order wizard with the
Configurator's dry run (its cause next to the input), and pages that another organization's staff
see as 404 and that show hostile names as text."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import ConfiguratorCredential, ConfiguratorLink, ConfiguratorOrder, ProvisioningJob
from telephony.sandbox.configurator import ROOT_KEY, ConfiguratorSimulator
from tenants.models import Role
from tests.factories import PASSWORD, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory

pytestmark = pytest.mark.django_db
HOSTILE = "{{ 7*7 }}<img src=x onerror=alert(1)>"


@pytest.fixture
def configurator(serve):
    return serve(ConfiguratorSimulator(order_delay_seconds=0.05))


@pytest.fixture
def link(tree, configurator):
    return ConfiguratorLink.objects.create(
        organization=tree.reseller, name="Reseller", base_url=configurator.base_url, api_key=ROOT_KEY,
        backend_ref={"configurator_organization": 1},
    )  # fmt: skip


@pytest.fixture
def order(tree, link):
    tenant = TenantFactory(organization=tree.customer, name="fairy")
    return ConfiguratorOrder.objects.create(
        link=link, tenant=tenant, template=LineTemplateFactory(organization=tree.customer),
        configuration={"version": 1, "organization": {"name": HOSTILE}},
    )  # fmt: skip


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:telephony_{name}", args=args)


def test_a_link_is_made_with_its_key_which_is_never_shown_again(tree, member, client, configurator):
    client.force_login(member(tree.reseller, Role.ADMIN))
    data = {"organization": tree.reseller.pk, "name": "Reseller", "base_url": configurator.base_url,
            "timeout_seconds": 10, "new_api_key": ROOT_KEY}  # fmt: skip
    response = client.post(admin_url("configuratorlink_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    link = ConfiguratorLink.objects.get(organization=tree.reseller)
    assert link.api_key == ROOT_KEY
    assert ProvisioningJob.objects.filter(target_key=f"configuratorlink:{link.pk}", operation="configurator.link.check")
    page = client.get(admin_url("configuratorlink_change", link.pk)).content.decode()
    assert ROOT_KEY not in page and "A key is set" in page
    assert "configurator.link.check" in page, "the link's own jobs are shown to its organization's staff"
    history = client.get(admin_url("configuratorlink_history", link.pk)).content.decode()
    assert ROOT_KEY not in history


def test_a_new_key_needs_the_staff_members_own_password(tree, member, client, link):
    client.force_login(member(tree.reseller, Role.ADMIN))
    data = {"organization": tree.reseller.pk, "name": "Reseller", "base_url": link.base_url, "timeout_seconds": 10,
            "new_api_key": "another-key"}  # fmt: skip
    response = client.post(admin_url("configuratorlink_change", link.pk), data)
    assert response.status_code == 200 and "Type your own password" in response.content.decode()
    link.refresh_from_db()
    assert link.api_key == ROOT_KEY
    response = client.post(admin_url("configuratorlink_change", link.pk), {**data, "current_password": PASSWORD})
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.api_key == "another-key" and link.backend_ref == {}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
def test_another_organizations_staff_get_404_everywhere(tree, member, client, link, order, role):
    client.force_login(member(tree.sibling, role))
    for name, args in (
        ("configuratorlink_change", [link.pk]),
        ("configuratorlink_delete", [link.pk]),
        ("configuratorlink_history", [link.pk]),
        ("configuratorlink_suborganization", [link.pk]),
        ("configuratorlink_credential", [link.pk]),
        ("configuratororder_change", [order.pk]),
        ("configuratororder_history", [order.pk]),
    ):
        assert client.get(admin_url(name, *args)).status_code == 404, name
    assert (
        client.post(admin_url("configuratorlink_credential", link.pk), {"name": "x", "value": "y"}).status_code == 404
    )
    lists = client.get(admin_url("configuratorlink_changelist")).content.decode()
    assert "Reseller" not in lists
    assert not ConfiguratorCredential.objects.exists()


def test_a_viewer_sees_the_link_but_makes_nothing_with_it(tree, member, client, link):
    client.force_login(member(tree.reseller, Role.VIEWER))
    assert client.get(admin_url("configuratorlink_change", link.pk)).status_code == 200
    assert client.get(admin_url("configuratorlink_suborganization", link.pk)).status_code == 404
    assert (
        client.post(admin_url("configuratorlink_credential", link.pk), {"name": "x", "value": "y"}).status_code == 404
    )


def test_a_credential_is_stored_by_a_job_and_never_shown(tree, member, client, link):
    client.force_login(member(tree.reseller, Role.ADMIN))
    response = client.post(admin_url("configuratorlink_credential", link.pk), {"name": "sip-trunk", "value": "s3cr3t!"})
    assert response.status_code == 302
    credential = ConfiguratorCredential.objects.get(link=link)
    assert ProvisioningJob.objects.get(target_key=f"configuratorcredential:{credential.pk}").payload == {
        "name": "sip-trunk"
    }
    page = client.get(admin_url("configuratorlink_change", link.pk)).content.decode()
    assert "sip-trunk" in page and "s3cr3t!" not in page
    bad = client.post(admin_url("configuratorlink_credential", link.pk), {"name": "{{ bad }}", "value": "x"})
    assert bad.status_code == 200 and "Letters, digits" in bad.content.decode()


def test_a_sub_organization_is_offered_only_below_the_link(tree, member, client, link):
    client.force_login(member(tree.reseller, Role.ADMIN))
    page = client.get(admin_url("configuratorlink_suborganization", link.pk))
    offered = set(page.context["form"].fields["organization"].queryset)
    assert offered == {tree.customer}
    response = client.post(
        admin_url("configuratorlink_suborganization", link.pk), {"organization": tree.sibling.pk, "name": "X"}
    )
    assert response.status_code == 200 and not ConfiguratorLink.objects.filter(organization=tree.sibling).exists()
    response = client.post(
        admin_url("configuratorlink_suborganization", link.pk), {"organization": tree.customer.pk, "name": "Cust"}
    )
    child = ConfiguratorLink.objects.get(organization=tree.customer)
    assert response.status_code == 302 and child.parent == link and not child.api_key


def test_an_order_page_shows_a_hostile_configuration_as_text_and_follows_the_order(tree, member, client, order):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    page = client.get(admin_url("configuratororder_change", order.pk)).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "{{ 7*7 }}" in page
    assert 'http-equiv="refresh"' in page  # still open: the page follows it
    assert order.callback_secret not in page


def wizard_data(tree, link, server, template, **changes):
    data = {
        "link": link.pk,
        "organization": tree.customer.pk,
        "server": server.pk,
        "tenant_name": "newcust",
        "licences": 10,
        "template": template.pk,
        "organization_name": "New Customer",
        "country": "NL",
        "users": "Sales, ann@new.example, 201\nSales, ben@new.example, 202",
        "numbers": "",
        "test": "Test",
    }
    data.update(changes)
    return data


@pytest.fixture
def park_server(tree):
    platform = PlatformFactory(organization=tree.distributor, kind="xelion_pm", username="", secret="key")
    return ServerFactory(platform=platform)


def test_the_wizard_dry_run_shows_the_configurators_cause_next_to_the_input(tree, member, client, link, park_server):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    template = LineTemplateFactory(organization=tree.reseller)
    assert client.get(admin_url("configuratororder_add")).status_code == 200
    refused = client.post(
        admin_url("configuratororder_add"),
        wizard_data(tree, link, park_server, template, users="Sales, ann@new.example, 911"),
    )
    assert refused.status_code == 200
    assert refused.context["form"].errors["users"] == [
        "Line 1: departments[0].internalNumbers: 911 is an emergency or reserved number (HTTP 400)"
    ]
    badline = client.post(admin_url("configuratororder_add"),
                          wizard_data(tree, link, park_server, template, users="only two, values"))  # fmt: skip
    assert "Line 1: expected 3 values" in badline.context["form"].errors["users"][0]
    hostile = client.post(admin_url("configuratororder_add"),
                          wizard_data(tree, link, park_server, template, organization_name=HOSTILE))  # fmt: skip
    body = hostile.content.decode()
    assert "The Configurator would take this configuration" in body and "<img src=x" not in body
    assert not ConfiguratorOrder.objects.exists() and not ProvisioningJob.objects.exists()


def test_the_wizard_places_the_order_with_its_tenant(tree, member, client, link, park_server):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    template = LineTemplateFactory(organization=tree.reseller)
    response = client.post(admin_url("configuratororder_add"),
                           wizard_data(tree, link, park_server, template, test="", order="Order"))  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    order = ConfiguratorOrder.objects.get()
    assert order.tenant.name == "newcust" and order.tenant.organization == tree.customer
    operations = list(ProvisioningJob.objects.order_by("id").values_list("operation", flat=True))
    assert operations == ["tenant.create", "configurator.order.submit"]


def test_the_wizard_refuses_a_customer_of_another_reseller(tree, member, client, link, park_server):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    template = LineTemplateFactory(organization=tree.reseller)
    data = wizard_data(tree, link, park_server, template, organization=tree.sibling_customer.pk, order="Order")
    response = client.post(admin_url("configuratororder_add"), data)
    assert response.status_code == 200 and "organization" in response.context["form"].errors
    assert not ConfiguratorOrder.objects.exists()


def test_a_link_never_moves_to_another_organization(tree, member, client, link):
    client.force_login(member(tree.distributor, Role.ADMIN))
    data = {"organization": tree.sibling.pk, "name": "Reseller", "base_url": link.base_url, "timeout_seconds": 10}
    response = client.post(admin_url("configuratorlink_change", link.pk), data)
    assert response.status_code == 200 and "cannot move to another organization" in response.content.decode()
    link.refresh_from_db()
    assert link.organization == tree.reseller
