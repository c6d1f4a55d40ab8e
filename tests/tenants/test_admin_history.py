"""The admin's HISTORY page shows an object's django-auditlog history, rendered like its page's
"Change history" section, to the logins that may see the object (404 for anyone else)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import ProvisioningBatch
from tenants.audit import acting_as
from tenants.models import Role
from tests.factories import EntityFactory, PbxUserFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

DJANGOS_EMPTY_HISTORY = "doesn’t have a change history"


@pytest.fixture
def line(tree):
    tenant = TenantFactory(organization=tree.customer, name="brickworks")
    line = PbxUserFactory(tenant=tenant, entity=EntityFactory(tenant=tenant, display_name="Sales"), first_name="Ada")
    with acting_as("import #5"):
        line.first_name = "Imported"
        line.save()
    return line


def history_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_history", args=[obj.pk])


def test_the_history_page_lists_the_audit_entries_with_names(tree, member, client, line):
    client.force_login(member(tree.reseller, Role.VIEWER))
    change_page = client.get(reverse("admin:telephony_pbxuser_change", args=[line.pk])).content.decode()
    assert f'href="{history_url(line)}"' in change_page

    response = client.get(history_url(line))
    assert response.status_code == 200
    page = response.content.decode()
    assert DJANGOS_EMPTY_HISTORY not in page
    assert "import #5" in page and "<b>first name</b>: Ada → Imported" in page
    assert "<b>tenant</b>: brickworks" in page and "<b>entity</b>: Sales" in page, "related objects by name"
    assert "2 changes" in page, "the create and the import's update"
    assert f"Change history: {line}" in page


def test_staff_of_a_sibling_organization_get_404(tree, member, client, line):
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert client.get(history_url(line)).status_code == 404
    assert client.get(history_url(line.tenant)).status_code == 404


def test_an_entity_administrator_gets_the_history_of_their_own_users_only(tree, client, line):
    own_admin, other_admin = UserFactory(), UserFactory()
    line.entity.administrators.add(own_admin)
    EntityFactory(tenant=line.tenant, intervals=[("5000", "5099")]).administrators.add(other_admin)
    client.force_login(own_admin)
    assert "import #5" in client.get(history_url(line)).content.decode()
    client.force_login(other_admin)
    assert client.get(history_url(line)).status_code == 404


def test_objects_without_an_audit_history_have_no_history_button(tree, member, client):
    batch = ProvisioningBatch.objects.create(organization=tree.reseller, label="Nightly import")
    client.force_login(member(tree.reseller, Role.ADMIN))
    change_page = client.get(reverse("admin:telephony_provisioningbatch_change", args=[batch.pk])).content.decode()
    assert "Nightly import" in change_page and history_url(batch) not in change_page
    page = client.get(history_url(batch)).content.decode()
    assert "keeps no change history of provisioning batches" in page and DJANGOS_EMPTY_HISTORY not in page


def test_a_number_moved_between_customers_shows_only_what_the_viewer_could_see(tree, member, client):
    """The number sat with the sibling reseller's customer (Globex, user Hank) before it moved to
    the customer: its history shows that customer's logins none of Globex's names or entries."""
    from telephony.models import PhoneNumber

    globex = TenantFactory(organization=tree.sibling_customer, name="globex-tenant")
    hank = PbxUserFactory(tenant=globex, entity=EntityFactory(tenant=globex), first_name="Hank", last_name="Scorpio")
    acme = TenantFactory(organization=tree.customer, name="acme-tenant")
    number = PhoneNumber.objects.create(number="+31309990002", organization=tree.distributor)
    number.tenant = globex
    number.save()
    number.assigned_user = hank
    number.label = "Globex hotline"
    number.save()
    number.assigned_user = None
    number.tenant = None
    number.save()
    number.tenant = acme
    number.label = "Acme desk"
    number.save()

    for login in (member(tree.reseller, Role.ADMIN), member(tree.customer, Role.VIEWER)):
        client.force_login(login)
        for url in (history_url(number), reverse("admin:telephony_phonenumber_change", args=[number.pk])):
            page = client.get(url).content.decode()
            assert "acme-tenant" in page, url
            for foreign in ("globex", "Hank", "Scorpio", "Globex hotline"):
                assert foreign not in page, (url, foreign)
        listed = client.get(reverse("admin:auditlog_logentry_changelist")).content.decode()
        for foreign in ("globex", "Hank", "Globex hotline"):
            assert foreign not in listed, foreign

    client.force_login(member(tree.distributor, Role.ADMIN))
    page = client.get(history_url(number)).content.decode()
    assert "globex-tenant" in page and "Hank Scorpio" in page, "who sees both customers sees it all"


def test_an_entity_administrator_from_elsewhere_is_not_named_in_its_history(tree, member, client):
    """A login of the sibling reseller's customer was once granted an entity here and removed: the
    entity's history shows the reseller's staff that a login was added and removed, not which."""
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer))
    stranger = member(tree.sibling_customer, Role.VIEWER, username="globex.stranger")
    entity.administrators.add(stranger)
    entity.administrators.remove(stranger)
    client.force_login(member(tree.reseller, Role.ADMIN))
    for url in (history_url(entity), reverse("admin:telephony_entity_change", args=[entity.pk])):
        page = client.get(url).content.decode()
        assert "added: (not available)" in page and "globex.stranger" not in page, url
    client.force_login(member(tree.distributor, Role.ADMIN))
    assert "added: globex.stranger" in client.get(history_url(entity)).content.decode()


@pytest.mark.parametrize("page", ["tenants_organization_history", "tenants_organization_change"])
def test_a_history_table_is_styled_on_every_page_that_shows_it(tree, member, client, page):
    client.force_login(member(tree.reseller, Role.ADMIN))
    body = client.get(reverse(f"admin:{page}", args=[tree.customer.pk])).content.decode()
    assert '<table class="history-table">' in body and "tenants/admin.css" in body


def test_the_audit_list_offers_the_kinds_of_object_it_records(tree, member, client, line):
    client.force_login(member(tree.reseller, Role.ADMIN))
    response = client.get(reverse("admin:auditlog_logentry_changelist"))
    offered = {str(kind) for _pk, kind in response.context["cl"].filter_specs[1].lookup_choices}
    assert {"Telephony | PBX user", "Organizations and access | organization"} <= offered, offered
    assert not offered & {"Sessions | session", "Authentication and Authorization | permission"}, offered
