"""A line's link to its portal login is changed only by those who manage that login: an editor
who may change the line but not the login (an entity administrator, a sibling's staff) neither
unlinks it by saving the page nor links a login of its choosing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from telephony.models import PbxUser
from telephony.services.users import LOGIN_NOT_YOURS, pbx_user_update
from tenants.models import Role
from tests.factories import EntityFactory, PbxUserFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(tree):
    tenant = TenantFactory(organization=tree.customer)
    entity = EntityFactory(tenant=tenant, intervals=[("2100", "2199")])
    return PbxUserFactory(
        tenant=tenant, entity=entity, internal_number="2101", portal_user=UserFactory(username="alice")
    )


@pytest.fixture
def entity_admin(line):
    login = UserFactory(username="acme.sales", is_staff=True)
    line.entity.administrators.add(login)
    return login


def _edit(line: PbxUser, **changes) -> PbxUser:
    copy = PbxUser.objects.get(pk=line.pk)
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


def test_an_entity_administrator_may_not_unlink_the_lines_login(line, entity_admin):
    with pytest.raises(ValidationError) as refused:
        pbx_user_update(actor=entity_admin, user=_edit(line, portal_user=None))
    assert refused.value.message_dict == {"portal_user": [LOGIN_NOT_YOURS]}
    assert PbxUser.objects.get(pk=line.pk).portal_user.username == "alice"


def test_nor_link_a_login_it_does_not_manage(line, entity_admin, tree, member):
    stranger = member(tree.sibling_customer, Role.VIEWER)
    line.portal_user = None
    line.save()
    with pytest.raises(ValidationError, match="Only those who manage a portal login"):
        pbx_user_update(actor=entity_admin, user=_edit(line, portal_user=stranger))


def test_an_administrator_of_the_customer_may_relink(line, tree, member):
    admin = member(tree.customer, Role.ADMIN)
    bob = member(tree.customer, Role.VIEWER)
    pbx_user_update(actor=admin, user=_edit(line, portal_user=bob))
    assert PbxUser.objects.get(pk=line.pk).portal_user == bob


def test_saving_the_admin_page_keeps_a_link_the_editor_does_not_manage(client, line, entity_admin):
    client.force_login(entity_admin)
    url = reverse("admin:telephony_pbxuser_change", args=[line.pk])
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "you do not manage; it stays linked" in body and "alice" not in body
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(last_name="Renamed", _save="Save")
    for key in [key for key, value in data.items() if isinstance(value, bool)]:
        if data[key]:
            data[key] = "on"
        else:
            del data[key]
    answer = client.post(url, data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    stored = PbxUser.objects.get(pk=line.pk)
    assert (stored.last_name, stored.portal_user.username) == ("Renamed", "alice")
