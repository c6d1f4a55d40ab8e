"""Customers see the history of their own lines on the self-service site."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.audit import acting_as

pytestmark = pytest.mark.django_db


def test_the_customer_admin_sees_who_changed_a_line(admin_client, customer):
    line = customer.users[1]
    with acting_as("import #3"):
        line.first_name = "Imported"
        line.save()
    page = admin_client.get(reverse("selfservice:user_detail", args=[line.pk])).content.decode()
    assert "History" in page and "import #3" in page and "Imported" in page


def test_the_end_user_sees_the_history_of_their_own_line(end_user_client, customer):
    line = customer.line
    line.voicemail_pin = "4321"
    line.voicemail_enabled = True
    line.save()
    page = end_user_client.get(reverse("selfservice:my_line")).content.decode()
    assert "History" in page and "voicemail enabled" in page
    assert "4321" not in page, "the PIN is masked in the history"
