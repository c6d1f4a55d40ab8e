"""The admin, scoped: a sibling organization's staff get 404 or an empty list everywhere, nothing is
created outside a subtree, secrets never render, and changelists cost the same at 10 and 200 rows."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telephony.models import Entity, LineTemplate, NumberInterval, PbxUser, PhoneNumber, Platform, Server, Tenant
from tenants.models import Membership, Organization, Role
from tenants.pagination import KeysFirstPaginator
from tests.factories import (
    PASSWORD,
    EntityFactory,
    LineTemplateFactory,
    MembershipFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
    UserFactory,
)
from tests.worlds import build_world

User = get_user_model()
SCOPED_MODELS = [
    Organization,
    Membership,
    Platform,
    Server,
    Tenant,
    Entity,
    NumberInterval,
    LineTemplate,
    PbxUser,
    PhoneNumber,
]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def world(tree):
    return build_world(tree.reseller, tree.customer)


@pytest.fixture
def sibling_admin(tree, member, client):
    login = member(tree.sibling, Role.ADMIN)
    client.force_login(login)
    return client


def test_every_project_model_is_registered():
    registered = set(admin.site._registry)
    assert set(SCOPED_MODELS) | {User} <= registered


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_sibling_staff_get_an_empty_list_and_404s(world, sibling_admin, model):
    obj = world[model]
    response = sibling_admin.get(url(model, "changelist"))
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    if model in (Platform, Server):
        assert obj not in shown  # the sibling sees what is shared down to it, never a cousin's
    else:
        assert obj not in shown
    for view in ("change", "delete", "history"):
        assert sibling_admin.get(url(model, view, obj.pk)).status_code == 404, view
    assert sibling_admin.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 404
    assert model.objects.filter(pk=obj.pk).exists()


def test_sibling_staff_get_404_for_logins_outside_their_tree(tree, world, sibling_admin):
    outsider = world[Membership].user
    assert outsider not in sibling_admin.get(url(User, "changelist")).context["cl"].result_list
    assert sibling_admin.get(url(User, "change", outsider.pk)).status_code == 404
    assert sibling_admin.get(url(User, "delete", outsider.pk)).status_code == 404


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_inside_staff_see_their_objects(tree, world, member, client, model):
    client.force_login(member(tree.reseller, Role.ADMIN))
    obj = world[model]
    assert obj in client.get(url(model, "changelist")).context["cl"].result_list
    assert client.get(url(model, "change", obj.pk)).status_code == 200


def test_delete_action_cannot_reach_outside_the_subtree(tree, world, member, client):
    sibling_world = build_world(tree.sibling, tree.sibling_customer)
    client.force_login(member(tree.reseller, Role.ADMIN))
    mine, theirs = world[LineTemplate], sibling_world[LineTemplate]
    client.post(
        url(LineTemplate, "changelist"),
        {"action": "delete_selected", "_selected_action": [mine.pk, theirs.pk], "post": "yes"},
    )
    assert not LineTemplate.objects.filter(pk=mine.pk).exists()
    assert LineTemplate.objects.filter(pk=theirs.pk).exists()


def test_a_tenant_cannot_be_created_for_a_siblings_customer_or_on_an_unshared_server(tree, member, client):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    shared = ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    unshared = ServerFactory(platform=PlatformFactory(organization=tree.sibling))
    base = {
        "name": "newtenant",
        "licences": 10,
        "status": "started",
        "entities-TOTAL_FORMS": 0,
        "entities-INITIAL_FORMS": 0,
    }

    response = client.post(url(Tenant, "add"), {**base, "organization": tree.sibling_customer.pk, "server": shared.pk})
    assert "organization" in response.context["adminform"].form.errors
    response = client.post(url(Tenant, "add"), {**base, "organization": tree.customer.pk, "server": unshared.pk})
    assert "server" in response.context["adminform"].form.errors
    assert not Tenant.objects.exists()

    response = client.post(url(Tenant, "add"), {**base, "organization": tree.customer.pk, "server": shared.pk})
    assert response.status_code == 302
    assert Tenant.objects.get().organization == tree.customer


def test_an_organization_cannot_be_moved_under_a_siblings(tree, member, client):
    client.force_login(member(tree.reseller, Role.ADMIN))
    response = client.post(
        url(Organization, "change", tree.customer.pk),
        {"name": "Customer", "kind": "customer", "parent": tree.sibling.pk},
    )
    assert "parent" in response.context["adminform"].form.errors
    tree.customer.refresh_from_db()
    assert tree.customer.parent == tree.reseller


def test_a_user_cannot_get_another_organizations_template(tree, member, client):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer))
    foreign = LineTemplateFactory(organization=tree.sibling)
    form = {
        "tenant": entity.tenant.pk,
        "entity": entity.pk,
        "internal_number": "1234",
        "template": foreign.pk,
        "first_name": "Eve",
        "last_name": "Intruder",
        "username": "eve",
        "forward_no_answer_timeout": 20,
    }
    response = client.post(url(PbxUser, "add"), form)
    assert "template" in response.context["adminform"].form.errors
    form["template"] = LineTemplateFactory(organization=tree.reseller).pk
    assert client.post(url(PbxUser, "add"), form).status_code == 302
    assert PbxUser.objects.get().username == "eve"


def test_service_refusals_show_next_to_the_form(tree, member, client):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer), intervals=[("200", "299")])
    form = {
        "tenant": entity.tenant.pk,
        "entity": entity.pk,
        "internal_number": "999",
        "template": LineTemplateFactory(organization=tree.reseller).pk,
        "first_name": "Out",
        "last_name": "Side",
        "username": "out",
        "forward_no_answer_timeout": 20,
    }
    response = client.post(url(PbxUser, "add"), form)
    assert response.status_code == 200
    assert "outside the number plan" in str(response.context["adminform"].form.errors)
    assert not PbxUser.objects.exists()


def test_another_organizations_number_cannot_be_assigned(tree, member, client):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    user = PbxUserFactory(entity=EntityFactory(tenant=TenantFactory(organization=tree.customer)))
    foreign = PhoneNumberFactory(organization=tree.sibling)
    response = client.post(
        url(PhoneNumber, "change", foreign.pk),
        {"number": foreign.number, "organization": tree.sibling.pk, "tenant": user.tenant.pk, "assigned_user": user.pk},
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.assigned_user is None


def test_tenant_page_edits_entities_and_their_number_plans_inline(tree, member, client):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    shared = ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    tenant = TenantFactory(organization=tree.customer, server=shared)
    data = {
        "organization": tree.customer.pk,
        "server": tenant.server.pk,
        "name": tenant.name,
        "licences": 10,
        "status": "started",
        "entities-TOTAL_FORMS": 1,
        "entities-INITIAL_FORMS": 0,
        "entities-0-name": "sales",
        "entities-0-number_plan": "1700-1799, 1961",
    }
    assert client.post(url(Tenant, "change", tenant.pk), data).status_code == 302
    assert Entity.objects.get(tenant=tenant).number_plan == "1700-1799, 1961"
    data["entities-0-number_plan"] = "1799-1700"
    response = client.post(url(Tenant, "change", tenant.pk), data)
    assert response.status_code == 200
    assert "before its start" in str(response.context["inline_admin_formsets"][0].formset.errors)


def test_platform_secret_is_never_rendered_and_is_kept_unless_replaced(tree, member, client):
    client.force_login(member(tree.reseller, Role.ADMIN))
    platform = PlatformFactory(organization=tree.reseller, secret="do-not-show-me", app_key="nor-me")
    page = client.get(url(Platform, "change", platform.pk)).content.decode()
    assert "do-not-show-me" not in page and "nor-me" not in page
    assert "is set" in page
    data = {
        "organization": tree.reseller.pk,
        "name": platform.name,
        "kind": "xcu",
        "base_url": platform.base_url,
        "is_active": "on",
        "username": "admin",
        "user_space": "portal",
        "timeout_seconds": 10,
        "verify_tls": platform.verify_tls and "on",
        "new_secret": "",
    }
    assert client.post(url(Platform, "change", platform.pk), data).status_code == 302
    assert Platform.objects.get(pk=platform.pk).secret == "do-not-show-me"
    refused = client.post(url(Platform, "change", platform.pk), {**data, "new_secret": "replaced"})
    assert "Type your own password" in str(refused.context["adminform"].form.errors), "re-authentication first"
    assert Platform.objects.get(pk=platform.pk).secret == "do-not-show-me"
    confirmed = {**data, "new_secret": "replaced", "current_password": PASSWORD}
    assert client.post(url(Platform, "change", platform.pk), confirmed).status_code == 302
    assert Platform.objects.get(pk=platform.pk).secret == "replaced"


def test_autocomplete_is_scoped(tree, world, sibling_admin):
    response = sibling_admin.get(
        reverse("admin:autocomplete"),
        {"app_label": "telephony", "model_name": "pbxuser", "field_name": "tenant", "term": ""},
    )
    assert response.status_code == 200
    assert str(world[Tenant].pk) not in [row["id"] for row in response.json()["results"]]


def test_viewers_get_read_only_pages(tree, world, member, client):
    client.force_login(member(tree.reseller, Role.VIEWER))
    tenant = world[Tenant]
    assert client.get(url(Tenant, "change", tenant.pk)).status_code == 200
    response = client.post(url(Tenant, "change", tenant.pk), {"name": "renamed"})
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.name != "renamed"


def test_staff_login_added_from_the_admin_gets_its_first_role(tree, member, client):
    client.force_login(member(tree.reseller, Role.ADMIN))
    response = client.post(
        url(User, "add"),
        {
            "username": "newop",
            "email": "newop@example.net",
            "organization": tree.customer.pk,
            "role": Role.OPERATOR,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = User.objects.get(username="newop")
    assert created.memberships.get().organization == tree.customer


# --- query counts -----------------------------------------------------------------------------------


def populate(model, count: int, tree) -> None:
    """`count` rows of `model` inside the reseller's subtree."""
    tenant = Tenant.objects.filter(organization=tree.customer).first() or TenantFactory(organization=tree.customer)
    entity = Entity.objects.filter(tenant=tenant).first() or EntityFactory(tenant=tenant, intervals=[("1000", "1999")])
    offset = model.objects.count()
    for index in range(offset, offset + count):
        if model is Organization:
            from tests.factories import OrganizationFactory

            OrganizationFactory(parent=Organization.objects.get(pk=tree.reseller.pk), kind="customer")
        elif model is Membership:
            MembershipFactory(organization=tree.customer, role=Role.VIEWER)
        elif model is Platform:
            PlatformFactory(organization=tree.reseller)
        elif model is Server:
            ServerFactory(platform=PlatformFactory(organization=tree.reseller))
        elif model is Tenant:
            TenantFactory(organization=tree.customer)
        elif model is Entity:
            EntityFactory(tenant=tenant, intervals=[(str(100000 + index), "")])
        elif model is NumberInterval:
            NumberInterval.objects.create(entity=entity, start=str(200000 + index))
        elif model is LineTemplate:
            LineTemplateFactory(organization=tree.customer)
        elif model is PbxUser:
            PbxUserFactory(entity=entity, tenant=tenant, internal_number=str(1000 + index))
        elif model is PhoneNumber:
            PhoneNumberFactory(organization=tree.reseller, tenant=tenant)
        elif model is User:
            MembershipFactory(organization=tree.customer)


def changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("model", [*SCOPED_MODELS, User], ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(tree, member, client, model):
    login = member(tree.reseller, Role.ADMIN)
    client.force_login(login)
    populate(model, 10, tree)
    at_ten = changelist_queries(client, model)
    populate(model, 190, tree)
    at_two_hundred = changelist_queries(client, model)
    # once the list has more than one page, it reads the page's keys first: one query more, once
    keys_first = admin.site._registry[model].paginator is KeysFirstPaginator
    assert at_two_hundred == at_ten + keys_first


def test_saving_an_entity_keeps_its_administrators(tree, member, client):
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer), intervals=[("1700", "1799")])
    entity_admin = UserFactory()  # no membership: only the grant
    entity.administrators.add(entity_admin)
    client.force_login(member(tree.reseller, Role.ADMIN))
    data = {
        "tenant": entity.tenant.pk,
        "name": entity.name,
        "display_name": "Renamed",
        "number_plan": "1700-1799",
        "administrators": [entity_admin.pk],
    }
    assert client.post(url(Entity, "change", entity.pk), data).status_code == 302
    assert list(entity.administrators.all()) == [entity_admin]


def test_a_role_cannot_capture_an_end_users_login(tree, member, superuser):
    from django.http import Http404

    from tenants import services

    line = PbxUserFactory(entity=EntityFactory(tenant=TenantFactory(organization=tree.sibling_customer)))
    end_user = UserFactory(is_staff=False)
    line.portal_user = end_user
    line.save()
    with pytest.raises(Http404):
        services.membership_create(
            actor=member(tree.reseller, Role.ADMIN),
            membership=Membership(user=end_user, organization=tree.customer, role=Role.ADMIN),
        )


def test_an_administrator_renames_their_own_organization(tree, member, client):
    client.force_login(member(tree.reseller, Role.ADMIN))
    response = client.post(
        url(Organization, "change", tree.reseller.pk), {"name": "Renamed reseller", "kind": "reseller"}
    )
    assert response.status_code == 302
    tree.reseller.refresh_from_db()
    assert tree.reseller.name == "Renamed reseller" and tree.reseller.parent == tree.distributor


def test_the_voicemail_pin_is_never_rendered_and_is_kept_unless_replaced(tree, member, client):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    keeps_pins = PlatformFactory(kind="xc5", base_url="http://127.0.0.1:9/api-sys/")
    tenant = TenantFactory(organization=tree.customer, server=ServerFactory(platform=keeps_pins))
    user = PbxUserFactory(entity=EntityFactory(tenant=tenant), voicemail_enabled=True)
    user.voicemail_pin = "8642"
    user.save()
    page = client.get(url(PbxUser, "change", user.pk)).content.decode()
    assert "8642" not in page and "A PIN is set" in page
    data = {
        "tenant": user.tenant.pk,
        "entity": user.entity.pk,
        "internal_number": user.internal_number,
        "template": user.template.pk,
        "first_name": "Renamed",
        "last_name": user.last_name,
        "username": user.username,
        "voicemail_enabled": "on",
        "forward_no_answer_timeout": 20,
    }
    assert client.post(url(PbxUser, "change", user.pk), data).status_code == 302
    assert PbxUser.objects.get(pk=user.pk).voicemail_pin == "8642"
    assert client.post(url(PbxUser, "change", user.pk), {**data, "new_voicemail_pin": "1357"}).status_code == 302
    assert PbxUser.objects.get(pk=user.pk).voicemail_pin == "1357"


def test_list_counts_are_scoped_to_what_the_login_sees(tree, member, client):
    """A shared server's tenants, a shared template's users and a tenant's users are counted only
    where the login may see them (another reseller's tenants and users are not counted)."""
    platform = PlatformFactory(organization=tree.distributor)
    server = ServerFactory(platform=platform)
    template = LineTemplateFactory(organization=tree.distributor)
    mine = TenantFactory(organization=tree.customer, server=server)
    theirs = TenantFactory(organization=tree.sibling_customer, server=server)
    sales = EntityFactory(tenant=mine, intervals=[("1000", "1099")])
    office = EntityFactory(tenant=mine, intervals=[("1100", "1199")])
    PbxUserFactory(entity=sales, template=template, internal_number="1001")
    PbxUserFactory(entity=office, template=template, internal_number="1101")
    other_entity = EntityFactory(tenant=theirs)
    for number in ("1001", "1002", "1003"):
        PbxUserFactory(entity=other_entity, template=template, internal_number=number)
    entity_admin = UserFactory(is_staff=True)
    sales.administrators.add(entity_admin)

    def counts(login, model, column):
        client.force_login(login)
        rows = client.get(url(model, "changelist")).context["cl"].result_list
        return {row.pk: getattr(row, column) for row in rows}

    reseller_admin = member(tree.reseller, Role.ADMIN, is_staff=True)
    assert counts(reseller_admin, Server, "tenant_count")[server.pk] == 1
    assert counts(reseller_admin, LineTemplate, "user_count")[template.pk] == 2
    assert counts(entity_admin, Tenant, "user_count")[mine.pk] == 1
    root = UserFactory(is_superuser=True, is_staff=True)
    assert counts(root, Server, "tenant_count")[server.pk] == 2
    assert counts(root, LineTemplate, "user_count")[template.pk] == 5


@pytest.mark.parametrize("who", ["entity administrator", "customer operator"])
def test_those_who_may_change_a_number_can_save_its_admin_page(tree, member, client, who):
    """The pool and the digits are fixed once a number exists, and only the pool's managers
    allocate it: for everyone else those show read-only, so that their form can be saved at all."""
    tenant = TenantFactory(organization=tree.customer)
    sales = EntityFactory(tenant=tenant)
    user = PbxUserFactory(entity=sales, internal_number="1001")
    number = PhoneNumberFactory(organization=tree.reseller, tenant=tenant, assigned_user=user)
    if who == "entity administrator":
        login = UserFactory(is_staff=True)
        sales.administrators.add(login)
    else:
        login = member(tree.customer, Role.OPERATOR, is_staff=True)
    client.force_login(login)
    page = client.get(url(PhoneNumber, "change", number.pk))
    form = page.context["adminform"].form
    assert {"number", "organization", "tenant"}.isdisjoint(form.fields)
    response = client.post(
        url(PhoneNumber, "change", number.pk), {"assigned_user": user.pk, "is_pilot": "", "label": "Front desk"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    number.refresh_from_db()
    assert number.label == "Front desk" and number.organization == tree.reseller and number.tenant == tenant
