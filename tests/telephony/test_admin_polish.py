"""Admin details: column labels, entity choices that say whose they are, and platform fields that
belong to some kinds of platform only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import Platform, PlatformKind
from tenants.models import Role
from tests.factories import PASSWORD, EntityFactory, PlatformFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_the_organizations_list_labels_its_child_count(superuser, client, tree):
    client.force_login(superuser)
    page = client.get(reverse("admin:tenants_organization_changelist")).content.decode()
    assert "column-child_count" in page and ">Children</a>" in page
    assert "numchild" not in page.lower()


def test_entity_choices_name_their_tenant_and_stay_scoped(tree, member, client):
    ours = TenantFactory(organization=tree.customer, name="acmebrick")
    sales = EntityFactory(tenant=ours, name="sales", display_name="Sales")
    theirs = EntityFactory(tenant=TenantFactory(organization=tree.sibling_customer, name="globex"), name="sales")
    client.force_login(member(tree.reseller, Role.OPERATOR))
    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "telephony", "model_name": "pbxuser", "field_name": "entity", "term": "sal"},
    ).json()["results"]
    assert found == [{"id": str(sales.pk), "text": "Sales (acmebrick)"}], "whose entity it is; never a sibling's"
    assert str(theirs.pk) not in {result["id"] for result in found}


def test_a_chosen_entity_is_shown_with_its_tenant(tree, member, client):
    from tests.factories import PbxUserFactory

    tenant = TenantFactory(organization=tree.customer, name="acmebrick")
    user = PbxUserFactory(entity=EntityFactory(tenant=tenant, display_name="Sales"), internal_number="1001")
    client.force_login(member(tree.reseller, Role.OPERATOR))
    page = client.get(reverse("admin:telephony_pbxuser_change", args=[user.pk])).content.decode()
    assert "Sales (acmebrick)</option>" in page


def test_the_entity_choices_narrow_to_a_chosen_tenant_and_never_widen_the_scope(tree, member, client):
    ours = TenantFactory(organization=tree.customer, name="acmebrick")
    other = TenantFactory(organization=tree.customer, name="acmebrick2")
    sales = EntityFactory(tenant=ours, name="sales")
    EntityFactory(tenant=other, name="sales")
    theirs = EntityFactory(tenant=TenantFactory(organization=tree.sibling_customer, name="globex"), name="sales")
    client.force_login(member(tree.reseller, Role.OPERATOR))
    query = {"app_label": "telephony", "model_name": "pbxuser", "field_name": "entity"}
    found = client.get(reverse("admin:autocomplete"), {**query, "tenant": ours.pk}).json()["results"]
    assert [result["id"] for result in found] == [str(sales.pk)]
    foreign = client.get(reverse("admin:autocomplete"), {**query, "tenant": theirs.tenant_id}).json()["results"]
    assert foreign == [], "another organization's tenant narrows to nothing, never to its entities"


def test_the_user_forms_plan_gives_next_numbers_and_free_numbers_in_scope_only(tree, member, client):
    from tests.factories import PbxUserFactory, PhoneNumberFactory

    ours = TenantFactory(organization=tree.customer, name="acmebrick")
    office = EntityFactory(tenant=ours, intervals=[("200", "299")])
    PbxUserFactory(tenant=ours, entity=office, internal_number="200")
    PhoneNumberFactory(organization=tree.reseller, tenant=ours, number="+31201234500")
    theirs = TenantFactory(organization=tree.sibling_customer, name="globex")
    client.force_login(member(tree.reseller, Role.OPERATOR))
    plan = client.get(reverse("admin:telephony_tenant_user_plan", args=[ours.pk])).json()
    assert plan == {"next_internal_numbers": {str(office.pk): "201"}, "free_numbers": ["+31201234500"]}
    assert client.get(reverse("admin:telephony_tenant_user_plan", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:telephony_tenant_user_plan", args=[999999])).status_code == 404
    client.force_login(member(tree.sibling_customer, Role.ADMIN))
    assert client.get(reverse("admin:telephony_tenant_user_plan", args=[ours.pk])).status_code == 404


def platform_data(platform: Platform, **changes) -> dict:
    data = {
        "organization": platform.organization_id,
        "name": platform.name,
        "kind": platform.kind,
        "base_url": platform.base_url,
        "is_active": "on",
        "username": platform.username,
        "user_space": platform.user_space,
        "acting_organization": "",
        "timeout_seconds": 10,
        "current_password": PASSWORD,
    }
    return {**data, **changes}


def test_the_platform_form_marks_the_fields_of_some_kinds_only(tree, member, client):
    platform = PlatformFactory(organization=tree.reseller, kind="xcu")
    client.force_login(member(tree.reseller, Role.ADMIN))
    page = client.get(reverse("admin:telephony_platform_change", args=[platform.pk])).content.decode()
    assert page.count(f'data-platform-kinds="{PlatformKind.XELION}"') == 2, "app key and user space"
    assert page.count(f'data-platform-kinds="{PlatformKind.XELION_PM}"') == 1, "Park Manager organization"
    assert "telephony/platform-kind.js" in page


def test_only_a_xelion_server_needs_a_user_space(tree, member, client):
    platform = PlatformFactory(organization=tree.reseller, kind="xcu")
    client.force_login(member(tree.reseller, Role.ADMIN))
    url = reverse("admin:telephony_platform_change", args=[platform.pk])
    assert client.post(url, platform_data(platform, user_space="")).status_code == 302
    platform.refresh_from_db()
    assert platform.user_space == ""
    response = client.post(url, platform_data(platform, kind=PlatformKind.XELION, user_space=""))
    assert response.status_code == 200
    assert "needs a user space" in str(response.context["adminform"].form.errors["user_space"])


def shown_fields(response) -> list[str]:
    return [name for _title, options in response.context["adminform"].fieldsets for name in options["fields"]]


def test_a_read_only_platform_page_shows_what_is_stored_for_its_kind(tree, member, client):
    """A reseller viewing its distributor's platform: the fields of that kind only, whether a secret
    is set instead of the inputs that replace it, and no password prompt."""
    xcu = PlatformFactory(organization=tree.distributor, kind=PlatformKind.XCU)
    xelion = PlatformFactory(organization=tree.distributor, kind=PlatformKind.XELION, secret="", user_space="vx")
    client.force_login(member(tree.reseller, Role.ADMIN))

    response = client.get(reverse("admin:telephony_platform_change", args=[xcu.pk]))
    assert response.status_code == 200 and not response.context["has_change_permission"]
    fields = shown_fields(response)
    assert "secret_state" in fields and "username" in fields
    for hidden in ("new_secret", "new_app_key", "current_password", "user_space", "acting_organization"):
        assert hidden not in fields, hidden
    page = response.content.decode()
    for row in ("user_space", "acting_organization", "new_app_key", "new_secret", "current_password"):
        assert f"field-{row}" not in page, row
    assert ">None<" not in page
    assert '<div class="readonly">set</div>' in page

    fields = shown_fields(client.get(reverse("admin:telephony_platform_change", args=[xelion.pk])))
    assert {"secret_state", "app_key_state", "user_space"} <= set(fields) and "acting_organization" not in fields
    page = client.get(reverse("admin:telephony_platform_change", args=[xelion.pk])).content.decode()
    assert page.count('<div class="readonly">not set</div>') == 2, "neither a secret nor an app key"


def test_the_platforms_editors_keep_the_form_inputs(tree, member, client):
    platform = PlatformFactory(organization=tree.reseller, kind=PlatformKind.XCU)
    client.force_login(member(tree.reseller, Role.ADMIN))
    fields = shown_fields(client.get(reverse("admin:telephony_platform_change", args=[platform.pk])))
    assert {"new_secret", "new_app_key", "current_password"} <= set(fields) and "secret_state" not in fields


def test_the_admin_heads_library_apps_by_what_they_are_for(superuser, client):
    client.force_login(superuser)
    names = {app["app_label"]: app["name"] for app in client.get(reverse("admin:index")).context["app_list"]}
    assert names["axes"] == "Login protection"
    assert names["otp_totp"] == "Two-factor: authenticator apps" and names["otp_static"] == "Two-factor: backup codes"
    page = client.get(reverse("admin:app_list", args=["axes"])).content.decode()
    assert "Login protection administration" in page


def test_a_tenant_name_the_xc5_would_refuse_is_refused_on_the_form(tree, member, client):
    from telephony.models import Tenant
    from tests.factories import ServerFactory

    server = ServerFactory(platform=PlatformFactory(organization=tree.reseller, kind="xc5"))
    client.force_login(member(tree.reseller, Role.OPERATOR))
    data = {"organization": tree.customer.pk, "server": server.pk, "name": "acme", "licences": 10,
            "status": "started", "entities-TOTAL_FORMS": 0, "entities-INITIAL_FORMS": 0}  # fmt: skip
    response = client.post(reverse("admin:telephony_tenant_add"), data)
    assert response.status_code == 200
    assert "named like a domain (acme.x.co.nz)" in str(response.context["adminform"].form.errors["name"])
    assert not Tenant.objects.exists()
    response = client.post(reverse("admin:telephony_tenant_add"), {**data, "name": "acme.x.co.nz"})
    assert response.status_code == 302 and Tenant.objects.get().name == "acme.x.co.nz"
