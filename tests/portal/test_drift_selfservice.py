"""Customers see the truth too: the self-service dashboard lists the lines a check of the PBX found
missing or set otherwise, in plain words, and never another customer's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import PbxUser, SyncState

pytestmark = pytest.mark.django_db


def test_the_dashboard_lists_lines_that_differ_in_plain_words(admin_client, customer, sibling):
    message = "On the phone system, last name is <b>King</b> (here: Lovelace)."
    PbxUser.objects.filter(pk=customer.line.pk).update(sync_state=SyncState.DRIFTED, sync_message=message)
    PbxUser.objects.filter(pk=sibling.line.pk).update(sync_state=SyncState.MISSING, sync_message="theirs")
    body = admin_client.get(reverse("selfservice:dashboard")).content.decode()
    assert "Lines that differ from the phone system" in body
    assert "differs on the PBX" in body and "last name is &lt;b&gt;King&lt;/b&gt;" in body
    assert "theirs" not in body and sibling.line.full_name not in body


def test_nothing_is_shown_when_every_line_is_as_the_pbx_holds_it(admin_client, customer):
    PbxUser.objects.filter(pk=customer.line.pk).update(sync_state=SyncState.VERIFIED)
    assert "differ from the phone system" not in admin_client.get(reverse("selfservice:dashboard")).content.decode()
