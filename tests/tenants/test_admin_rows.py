"""A list's rows drawn the quick way are Django's rows, character for character, hostile names too."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result, results
from django.contrib.admin.views.main import ChangeList
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import translation
from django.utils.html import format_html_join

from telephony.models import PbxUser, SyncState
from tenants.admin_rows import QuickRowsChangeList, QuickRowsMixin, _Page
from tenants.choices import choice_label
from tenants.models import Organization, Role
from tests.crawl.build import build_crawl_world
from tests.crawl.world import SUPERUSER
from tests.factories import EntityFactory, PbxUserFactory, TenantFactory

pytestmark = pytest.mark.django_db

HOSTILE = ['<img src=x onerror="alert(1)">', "{{ secret }}", 'O\'Brien & "Sons"', "Zoë – ☎"]


def _changelist(model, login, params=None):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    request = RequestFactory().get(url, params or {})
    request.resolver_match = resolve(url)  # as the list's view sees it: it keeps the filters then
    request.user = login
    changelist = admin.site._registry[model].get_changelist_instance(request)
    changelist.formset = None  # as the list's view sets it without list_editable
    return changelist


def test_every_scoped_list_and_the_audit_log_draw_their_rows_quickly():
    quick = [model for model, model_admin in admin.site._registry.items() if isinstance(model_admin, QuickRowsMixin)]
    assert {Organization, PbxUser, LogEntry} <= set(quick)


@pytest.mark.parametrize("name", HOSTILE)
def test_the_selection_box_is_djangos(tree, name):
    model_admin = admin.site._registry[Organization]
    organization = Organization.objects.get(pk=tree.customer.pk)
    organization.name = name
    assert model_admin.action_checkbox(organization) == admin.ModelAdmin.action_checkbox(model_admin, organization)
    assert "<img" not in model_admin.action_checkbox(organization)


@pytest.mark.parametrize("key", [7, 123456, "a/b_c?d e%", "ünï/çø:de"])
def test_the_change_link_is_djangos(tree, member, key):
    changelist = _changelist(PbxUser, member(tree.reseller, Role.ADMIN))
    assert isinstance(changelist, QuickRowsChangeList)
    row = SimpleNamespace(**{changelist.pk_attname: key})
    assert changelist.url_for_result(row) == ChangeList.url_for_result(changelist, row)


# a plain list, a filtered one, and a later page of a search (the links then keep the filters)
PARAMETERS = [{}, {"sync_state__exact": "pending"}, {"q": "<img", "p": "1", "o": "-2"}]


@pytest.mark.parametrize("params", PARAMETERS)
def test_a_whole_page_is_djangos(tree, member, params):
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer, name=HOSTILE[0]))
    for index, name in enumerate(HOSTILE):
        PbxUserFactory(entity=entity, first_name=name, last_name=HOSTILE[-1 - index], internal_number=str(300 + index))
    PbxUser.objects.update(sync_state="pending")
    login = member(tree.reseller, Role.ADMIN)
    changelist = _changelist(PbxUser, login, params)
    model_admin = changelist.model_admin
    quick = _rows(changelist)
    assert len(quick) >= 1
    if params:
        assert "_changelist_filters=" in quick[0]
    # the same page drawn by Django's own selection box and links, with the filters it kept
    changelist.preserved_filters = changelist._row_filters
    changelist.url_for_result = lambda result: ChangeList.url_for_result(changelist, result)
    model_admin.action_checkbox = lambda obj: admin.ModelAdmin.action_checkbox(model_admin, obj)
    try:
        assert _rows(changelist) == quick
    finally:
        del model_admin.action_checkbox
    assert "onerror=" not in "".join(quick).replace("onerror=&quot;", "")


def _rows(changelist) -> list[str]:
    return ["".join(row) for row in results(changelist)]


# Every admin list of the crawl's world (every kind of object), as the superuser and a reseller's
# administrator: plain, sorted by its second column, searched, on a later page with a filter kept.
LIST_PARAMETERS = [{}, {"o": "-2"}, {"q": "x"}, {"p": "2", "o": "1"}]


@pytest.mark.parametrize("login_key", [SUPERUSER, "kilox.admin"])
def test_every_admin_list_draws_django_s_rows(login_key, monkeypatch, client):
    world = build_crawl_world()
    PbxUser.objects.filter(pk__in=PbxUser.objects.order_by("pk").values("pk")[:3]).update(
        first_name=HOSTILE[0], last_name=HOSTILE[1], email="", sync_state="failed"
    )
    client.force_login(world.login(login_key).user)
    drawn = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for params in LIST_PARAMETERS:
            quick = _result_table(client, url, params)
            with monkeypatch.context() as patched:  # the same page, each row drawn by Django
                patched.setattr(
                    _Page,
                    "row",
                    lambda page, result: format_html_join(
                        "", "{}", ((c,) for c in items_for_result(page.cl, result, None))
                    ),
                )
                assert _result_table(client, url, params) == quick, (url, params)
            drawn += quick.count("<tr")
    assert drawn > 200  # the lists had rows to compare


def _result_table(client, url: str, params: dict) -> str:
    answer = client.get(url, params)
    if answer.status_code == 302:  # a page or a sort the list does not have: its ?e=1
        return answer["Location"]
    if answer.status_code == 403:  # a list this login may not open
        return "403"
    assert answer.status_code == 200, url
    html = answer.content.decode()
    return html[html.find('<table id="result_list">') : html.find("</table>", html.find('id="result_list"'))]


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_a_choice_label_is_django_s_display_in_every_language(language):
    with translation.override(language):
        for value in [*SyncState.values, "not-a-state", ""]:
            user = PbxUser(sync_state=value)
            assert choice_label(user, "sync_state") == user.get_sync_state_display()
