"""Login protection: repeated failures lock the username + address pair for a cool-off period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tenants.models import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


def attempt(client, username, password, address="203.0.113.9", forwarded=None):
    extra = {"REMOTE_ADDR": address}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


@pytest.fixture
def staff(tree, member):
    return member(tree.reseller, Role.OPERATOR, username="victim")


def lock(client, username="victim", **where):
    for _ in range(5):
        attempt(client, username, "wrong", **where)


def test_lockout_after_the_limit_with_a_clear_message(client, staff):
    for _ in range(4):
        assert attempt(client, "victim", "wrong").status_code == 200
    response = attempt(client, "victim", "wrong")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    blocked = attempt(client, "victim", PASSWORD)
    assert blocked.status_code == 429, "even the right password is refused while locked"


def test_the_lock_is_per_username_and_address(client, staff, tree, member):
    member(tree.reseller, Role.VIEWER, username="colleague")
    lock(client)
    assert attempt(client, "victim", PASSWORD, address="198.51.100.7").status_code == 302, "other networks still log in"
    assert attempt(client, "colleague", PASSWORD).status_code == 302, "an attacker cannot lock out everybody"


def test_release_after_the_cool_off(client, staff):
    lock(client)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, "victim", PASSWORD).status_code == 302


def test_behind_one_proxy_the_forwarded_client_counts(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    lock(client, address=proxy, forwarded="203.0.113.9")
    assert attempt(client, "victim", PASSWORD, address=proxy, forwarded="203.0.113.9").status_code == 429
    assert attempt(client, "victim", PASSWORD, address=proxy, forwarded="198.51.100.7").status_code == 302
    # A client cannot escape its lock by claiming another address in front of the proxy's entry.
    client.logout()
    assert attempt(client, "victim", PASSWORD, address=proxy, forwarded="1.1.1.1, 203.0.113.9").status_code == 429


def test_staff_can_unlock_the_logins_they_manage(client, staff, tree, member):
    lock(client)
    client.force_login(member(tree.reseller, Role.ADMIN))
    client.post(reverse("admin:auth_user_changelist"), {"action": "unlock_logins", "_selected_action": [staff.pk]})
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert attempt(client, "victim", PASSWORD).status_code == 302


def test_sibling_staff_cannot_unlock(client, staff, tree, member):
    lock(client)
    client.force_login(member(tree.sibling, Role.ADMIN))
    client.post(reverse("admin:auth_user_changelist"), {"action": "unlock_logins", "_selected_action": [staff.pk]})
    assert AccessAttempt.objects.exists()
