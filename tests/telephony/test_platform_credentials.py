"""Re-authentication before a platform's credentials change: a new secret, or the stored secret sent
to another address, as another login, or without checking the far end's certificate, needs the
actor's own password — in the service, so no way in can skip it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from telephony.models import Platform
from telephony.services.platforms import platform_update
from tenants.models import Role
from tests.factories import PASSWORD, PlatformFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(tree):
    return PlatformFactory(
        organization=tree.reseller, kind="xcu", base_url="http://127.0.0.1:9/api/1.0/", secret="stored-secret"
    )


@pytest.fixture
def admin(tree, member):
    return member(tree.reseller, Role.ADMIN)


def edited(platform: Platform, **changes) -> Platform:
    copy = Platform.objects.get(pk=platform.pk)
    for field, value in changes.items():
        setattr(copy, field, value)
    return copy


@pytest.mark.parametrize(
    "changes",
    [
        {"base_url": "http://127.0.0.2:9/api/1.0/"},
        {"username": "someone-else"},
        {"verify_tls": False},
    ],
    ids=["address", "login", "tls-check"],
)
def test_sending_the_stored_secret_elsewhere_needs_the_actors_password(platform, admin, changes):
    with pytest.raises(ValidationError) as refused:
        platform_update(actor=admin, platform=edited(platform, **changes))
    assert "Type your own password" in str(refused.value.message_dict["current_password"])
    with pytest.raises(ValidationError):
        platform_update(actor=admin, platform=edited(platform, **changes), actor_password="not it")
    assert Platform.objects.get(pk=platform.pk).base_url == "http://127.0.0.1:9/api/1.0/"

    saved = platform_update(actor=admin, platform=edited(platform, **changes), actor_password=PASSWORD)
    assert all(getattr(saved, field) == value for field, value in changes.items())
    assert Platform.objects.get(pk=platform.pk).secret == "stored-secret"


def test_a_new_secret_needs_the_actors_password(platform, admin):
    with pytest.raises(ValidationError):
        platform_update(actor=admin, platform=edited(platform), new_secret="new-one")
    platform_update(actor=admin, platform=edited(platform), new_app_key="key", actor_password=PASSWORD)
    assert Platform.objects.get(pk=platform.pk).app_key == "key"


def test_other_changes_need_no_password(platform, admin):
    platform_update(actor=admin, platform=edited(platform, name="Renamed XCU", timeout_seconds=20))
    assert Platform.objects.get(pk=platform.pk).name == "Renamed XCU"


def test_a_platform_without_a_secret_changes_address_freely(tree, admin):
    bare = PlatformFactory(organization=tree.reseller, kind="xcu", base_url="http://127.0.0.1:9/a/", secret="")
    platform_update(actor=admin, platform=edited(bare, base_url="http://127.0.0.1:9/b/"))
    assert Platform.objects.get(pk=bare.pk).base_url == "http://127.0.0.1:9/b/"


def test_the_admin_shows_the_refusal_next_to_the_password_field(platform, admin, client, tree):
    client.force_login(admin)
    change_url = reverse("admin:telephony_platform_change", args=[platform.pk])
    data = {
        "organization": tree.reseller.pk,
        "name": platform.name,
        "kind": "xcu",
        "base_url": "http://127.0.0.2:9/api/1.0/",
        "is_active": "on",
        "username": platform.username,
        "user_space": platform.user_space,
        "timeout_seconds": platform.timeout_seconds,
        "verify_tls": "on",
    }
    refused = client.post(change_url, data)
    assert refused.status_code == 200
    assert "Type your own password" in str(refused.context["adminform"].form.errors["current_password"])
    assert Platform.objects.get(pk=platform.pk).base_url == "http://127.0.0.1:9/api/1.0/"
    assert client.post(change_url, {**data, "current_password": PASSWORD}).status_code == 302
    assert Platform.objects.get(pk=platform.pk).base_url == "http://127.0.0.2:9/api/1.0/"
