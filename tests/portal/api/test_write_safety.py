"""Issue 17, parts 3, 4 and 6: a retried create never makes two objects (Idempotency-Key, also when
the retries run at once), two clients never overwrite each other unseen (ETag / If-Match), a token
beyond its rate gets 429 with Retry-After, and the OpenAPI schema validates and lists every endpoint."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from portal.api.models import IdempotentRequest
from portal.api.tokens import api_token_create
from telephony.models import PbxUser, ProvisioningJob
from tests.portal.api.test_tokens_and_scope import API, bearer, new_user_body, token_of

pytestmark = pytest.mark.django_db


def post_user(client, raw, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"{API}/pbx-users/", body, content_type="application/json", **bearer(raw), **headers)


def test_a_retried_create_with_its_key_makes_one_user_and_gets_the_same_answer(client, customer):
    raw = token_of(customer.admin)
    first = post_user(client, raw, new_user_body(customer), key="order-1842")
    again = post_user(client, raw, new_user_body(customer), key="order-1842")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert PbxUser.objects.filter(username="api.user").count() == 1
    made = PbxUser.objects.get(username="api.user")
    assert ProvisioningJob.objects.filter(target_id=made.pk).count() == 1


def test_a_key_reused_for_another_body_is_refused(client, customer):
    raw = token_of(customer.admin)
    post_user(client, raw, new_user_body(customer), key="k1")
    other = post_user(client, raw, new_user_body(customer, username="other.user", internal_number="2151"), key="k1")
    assert other.status_code == 422 and "Idempotency-Key" in other.json()
    assert not PbxUser.objects.filter(username="other.user").exists()


def test_a_refused_create_keeps_no_key(client, customer):
    raw = token_of(customer.admin)
    refused = post_user(client, raw, new_user_body(customer, internal_number="9999"), key="k2")
    assert refused.status_code == 400
    assert not IdempotentRequest.objects.exists(), "a retry after fixing nothing is checked again"


def test_keys_are_per_login(client, customer, sibling):
    raw = token_of(customer.admin)
    theirs = token_of(sibling.admin)
    post_user(client, raw, new_user_body(customer), key="shared")
    answer = post_user(client, theirs, new_user_body(sibling, username="s.user", internal_number="2160"), key="shared")
    assert answer.status_code == 201 and answer.json()["tenant"] == sibling.tenant.pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_user(customer):
    raw = token_of(customer.admin)
    body = new_user_body(customer)
    answers, start = [], threading.Barrier(4)

    def retry():
        try:
            start.wait()
            answers.append(post_user(Client(), raw, body, key="burst"))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert PbxUser.objects.filter(username="api.user").count() == 1
    created = [a for a in answers if a.status_code == 201]
    assert created and all(a.json()["id"] == created[0].json()["id"] for a in created)
    assert {a.status_code for a in answers} <= {201, 409}, [a.status_code for a in answers]


def test_if_match_of_a_stale_read_changes_nothing(client, customer):
    raw = token_of(customer.admin)
    line = customer.users[0]
    read = client.get(f"{API}/pbx-users/{line.pk}/", **bearer(raw))
    etag = read["ETag"]
    changed = client.patch(
        f"{API}/pbx-users/{line.pk}/",
        {"first_name": "First"},
        content_type="application/json",
        HTTP_IF_MATCH=etag,
        **bearer(raw),
    )
    assert changed.status_code == 200 and changed["ETag"] != etag
    stale = client.patch(
        f"{API}/pbx-users/{line.pk}/",
        {"first_name": "Second"},
        content_type="application/json",
        HTTP_IF_MATCH=etag,
        **bearer(raw),
    )
    assert stale.status_code == 412
    assert PbxUser.objects.get(pk=line.pk).first_name == "First"
    gone = client.delete(f"{API}/pbx-users/{line.pk}/", HTTP_IF_MATCH=etag, **bearer(raw))
    assert gone.status_code == 412 and PbxUser.objects.filter(pk=line.pk).exists()


def test_a_token_beyond_its_rate_gets_429_with_retry_after(client, customer, settings):
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/min"}}
    settings.REST_FRAMEWORK = rates
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    cache.clear()
    try:
        raw, other = token_of(customer.admin), token_of(customer.admin)
        codes = [client.get(f"{API}/tenants/", **bearer(raw)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get(f"{API}/tenants/", **bearer(raw))
        assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
        assert client.get(f"{API}/tenants/", **bearer(other)).status_code == 200, "per token"
    finally:
        settings.REST_FRAMEWORK = {**rates, "DEFAULT_THROTTLE_RATES": {"api": "600/min"}}
        api_settings.reload()
        SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        cache.clear()


def test_the_schema_validates_and_lists_every_endpoint(client, superuser):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    from portal.api.urls import router

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    paths = set(schema["paths"])
    for prefix, viewset, _basename in router.registry:
        assert f"/api/v1/{prefix}/" in paths
        assert f"/api/v1/{prefix}/{{id}}/" in paths
        for extra in viewset.get_extra_actions():
            on = f"/api/v1/{prefix}/{{id}}/" if extra.detail else f"/api/v1/{prefix}/"
            assert f"{on}{extra.url_path}/" in paths
    user_numbers = "/api/v1/pbx-users/{id}/numbers/"  # a user's numbers, nested under it
    assert {user_numbers, f"{user_numbers}assign/", f"{user_numbers}release/"} <= paths
    assert set(schema["paths"][f"{user_numbers}assign/"]) == {"post"}
    assert not any(path.startswith("/api/v1/pbx-user-numbers/") for path in paths), "one way to a user's numbers"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security"), f"{method} {path} says how to authenticate"
    _token, raw = api_token_create(
        actor=superuser,
        name="docs",
        scope="read",
        expires_at=timezone.now() + timedelta(days=1),
        session_verified=True,
    )
    assert client.get(f"{API}/schema/", **bearer(raw)).status_code == 200
    client.force_login(superuser)
    docs = client.get(f"{API}/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()
    assert b"<script>" not in docs.content and b"<style>" not in docs.content, "nothing inline (the CSP)"
    assert b"portal/api-docs.css" in docs.content


def test_a_body_that_is_no_object_is_refused_not_a_500(client, customer):
    raw = token_of(customer.admin)
    for body in ("[1, 2]", '"text"', "{not json"):
        answer = client.post(
            f"{API}/pbx-users/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k", **bearer(raw)
        )
        assert answer.status_code == 400, (body, answer.status_code)
    assert not PbxUser.objects.filter(username="api.user").exists()
