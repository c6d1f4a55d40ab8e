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


def history_of(page: str) -> str:
    start = page.index('id="history-title"')
    return page[start : page.index("</section>", start)]


BACKEND_IDENTITY_LABELS = ("XCU", "Xelion", "XC5", "xcu", "xelion", "xc5", "backend reference")


def test_the_history_names_related_objects_and_hides_identities(admin_client, customer):
    line = customer.line
    with acting_as("job #8"):  # what a provisioning job writes back: the backend's identities only
        line.backend_ref = {"xcu_id": 560, "xelion_oid": "oid-77"}
        line.save()
    history = history_of(admin_client.get(reverse("selfservice:user_detail", args=[line.pk])).content.decode())
    assert "tenant: acme" in history, "related objects by name"
    assert "template: acme line" in history and "entity: Sales" in history
    assert "portal login: — → acme.alice" in history, "the portal login by its username"
    assert "first name: Alice" in history, "a create shows the values it set"
    for hidden in (*BACKEND_IDENTITY_LABELS, "560", "oid-77", "job #8", "None", "id:", "phone numbers", "sync"):
        assert hidden not in history, hidden
    assert "97531" not in history and "voicemail PIN: ****" in history, "the PIN is masked"


def test_the_end_users_own_line_history_hides_identities_too(end_user_client, customer):
    line = customer.line
    with acting_as("job #9"):
        line.backend_ref = {"xc5_guid": "guid-1234"}
        line.save()
    history = history_of(end_user_client.get(reverse("selfservice:my_line")).content.decode())
    assert "tenant: acme" in history
    assert "guid-1234" not in history and "XC5" not in history and "job #9" not in history


def test_history_costs_the_same_queries_however_long(admin_client, customer, tree):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import LineTemplateFactory

    line = customer.line
    templates = [customer.template, LineTemplateFactory(organization=tree.reseller, name="spare line")]
    url = reverse("selfservice:user_detail", args=[line.pk])

    def change_line(times: int) -> int:
        for index in range(times):
            line.template = templates[index % 2]
            line.portal_user = customer.end_user if index % 2 else customer.admin
            line.first_name = f"Alice {index}"
            line.save()
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    assert change_line(2) == change_line(11), "4 entries, then 15 (the page's most), in one query per model"
    assert "spare line" in history_of(admin_client.get(url).content.decode())
