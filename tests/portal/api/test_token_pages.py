"""Issue 17, part 2: tokens are made and revoked in the admin and on the self-service site, shown
once (never kept in a message or a cookie), and a login only ever sees and revokes its own."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from portal.api.models import ApiToken
from tenants.models import Role

pytestmark = pytest.mark.django_db


def shown_token(page: str) -> str:
    found = re.search(r"<code class=\"api-token\" data-token>(pbx_[^<]+)</code>", page)
    return found.group(1) if found else ""


@pytest.mark.parametrize("where", ["selfservice:api_tokens", "api_tokens"])
def test_a_token_is_made_shown_once_and_works(client, customer, tree, member, where):
    login = customer.admin if where.startswith("selfservice") else member(tree.reseller, Role.OPERATOR)
    client.force_login(login)
    answer = client.post(reverse(where), {"name": "billing", "scope": "read", "days": "90d"})
    raw = shown_token(answer.content.decode())
    assert answer.status_code == 200 and raw and "no-store" in answer["Cache-Control"]
    assert raw not in str(answer.cookies) and raw not in str(client.session.items())
    assert raw not in client.get(reverse(where)).content.decode(), "shown once"
    assert client.get("/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    token = ApiToken.objects.get(user=login)
    assert client.post(reverse(where), {"revoke": token.pk}).status_code == 302
    assert client.get("/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.parametrize("where", ["selfservice:api_tokens", "api_tokens"])
def test_another_login_s_token_is_neither_listed_nor_revoked(client, customer, sibling, tree, member, where):
    from datetime import timedelta

    from django.utils import timezone

    from portal.api.tokens import api_token_create

    theirs, _raw = api_token_create(
        actor=sibling.admin,
        name="their billing",
        scope="read_write",
        expires_at=timezone.now() + timedelta(days=5),
        session_verified=True,
    )
    login = customer.admin if where.startswith("selfservice") else member(tree.reseller, Role.ADMIN)
    client.force_login(login)
    page = client.get(reverse(where)).content.decode()
    assert "their billing" not in page and theirs.prefix not in page
    assert client.post(reverse(where), {"revoke": theirs.pk}).status_code == 404
    assert client.post(reverse(where), {"revoke": "1 OR 1=1"}).status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "scope": "read", "days": "90d"},
        {"name": "x", "scope": "root", "days": "90d"},
        {"name": "x", "scope": "read", "days": "9999"},
        {"name": "<img src=x onerror=alert(1)>{{ 7|add:1 }}", "scope": "read", "days": "abc"},
    ],
)
def test_a_bad_form_says_why_and_makes_nothing(client, customer, data):
    client.force_login(customer.admin)
    answer = client.post(reverse("selfservice:api_tokens"), data)
    assert answer.status_code == 200 and not shown_token(answer.content.decode())
    assert "<img src=x" not in answer.content.decode()
    assert not ApiToken.objects.exists()


def test_a_hostile_token_name_is_shown_as_text(client, customer):
    client.force_login(customer.admin)
    client.post(
        reverse("selfservice:api_tokens"),
        {"name": "<img src=x onerror=alert(1)>{{ 7|add:1 }}", "scope": "read", "days": "30d"},
    )
    page = client.get(reverse("selfservice:api_tokens")).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;{{ 7|add:1 }}" in page and "<img src=x" not in page


def test_an_end_user_and_a_visitor_have_no_token_page(client, customer):
    assert client.get(reverse("selfservice:api_tokens")).status_code == 302
    client.force_login(customer.end_user)
    assert client.get(reverse("selfservice:api_tokens")).status_code == 404


def test_two_factor_logins_make_tokens_from_a_verified_session_only(client, superuser, settings):
    settings.PORTAL_REQUIRE_2FA = True
    client.force_login(superuser)
    answer = client.post(reverse("api_tokens"), {"name": "ci", "scope": "read", "days": "30d"})
    assert answer.status_code in (200, 302) and not ApiToken.objects.exists()


def test_acting_as_a_customer_makes_no_token(client, customer, tree, member):
    reseller_admin = member(tree.reseller, Role.ADMIN)
    client.force_login(reseller_admin)
    client.post(reverse("selfservice:acting_start", args=[customer.organization.pk]))
    answer = client.post(reverse("selfservice:api_tokens"), {"name": "x", "scope": "read", "days": "30d"})
    assert answer.status_code in (302, 403, 404) and not ApiToken.objects.exists()
