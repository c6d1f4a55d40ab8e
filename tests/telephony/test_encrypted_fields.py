"""Encrypted fields stay readable after a refused value: a wrong PIN typed by one person must not
turn every stored PIN and platform secret into ciphertext for the rest of the process."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from telephony.models import PbxUser, Platform
from tests.factories import PbxUserFactory, PlatformFactory

pytestmark = pytest.mark.django_db


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_refused_pin_leaves_stored_pins_readable_and_encrypted_once():
    stored = PbxUserFactory(internal_number="1003", voicemail_enabled=True, voicemail_pin="2468")
    refused = PbxUserFactory(internal_number="1004", voicemail_enabled=True)
    refused.voicemail_pin = "12"
    with pytest.raises(ValidationError):
        refused.full_clean()

    again = PbxUser.objects.get(pk=stored.pk)
    assert again.voicemail_pin == "2468"
    again.full_clean()
    again.save()
    assert PbxUser.objects.get(pk=stored.pk).voicemail_pin == "2468", "saved back without a second encryption"
    assert "2468" not in raw("telephony_pbxuser", "voicemail_pin", stored.pk)


def test_a_refused_secret_leaves_stored_secrets_readable():
    stored = PlatformFactory(secret="s3cret-value")
    refused = PlatformFactory.build(organization=stored.organization, secret="x" * 501)
    with pytest.raises(ValidationError):
        refused.full_clean()
    assert Platform.objects.get(pk=stored.pk).secret == "s3cret-value"


def test_validation_checks_the_value_as_typed():
    user = PbxUserFactory(internal_number="1005", voicemail_enabled=True)
    user.voicemail_pin = "13579"
    user.full_clean()
    user.save()
    assert PbxUser.objects.get(pk=user.pk).voicemail_pin == "13579"
