"""Sessions end when access is taken away; a login gets a new session; idle sessions expire."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session

from tenants import services
from tenants.models import Role

pytestmark = pytest.mark.django_db


def logged_in(client, user):
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    return client


def test_deactivating_a_login_ends_its_sessions(tree, member, client, superuser):
    staff = member(tree.customer, Role.OPERATOR)
    logged_in(client, staff)
    staff.is_active = False
    services.login_update(actor=superuser, user=staff)
    assert client.get("/admin/").status_code == 302, "back to the login page"


def test_removing_a_membership_ends_the_sessions_of_its_login(tree, member, client, superuser):
    staff = member(tree.customer, Role.OPERATOR)
    other = member(tree.customer, Role.VIEWER)
    logged_in(client, staff)
    from django.test import Client

    bystander = logged_in(Client(), other)
    services.membership_delete(actor=superuser, membership=staff.memberships.get())
    assert client.get("/admin/").status_code == 302
    assert bystander.get("/admin/").status_code == 200, "other logins keep their sessions"


def test_a_login_gets_a_new_session_key(tree, member, client):
    staff = member(tree.customer, Role.OPERATOR)
    client.get("/admin/login/")
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    from tests.factories import PASSWORD

    client.post("/admin/login/", {"username": staff.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.1")
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before is None or before.value != after
    assert Session.objects.filter(session_key=after).exists()


def test_sessions_expire_when_idle():
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert 0 < settings.SESSION_COOKIE_AGE <= 8 * 3600
