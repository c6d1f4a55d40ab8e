"""The self-service pages offer only the settings the tenant's PBX keeps per user, and say so for the
rest; on XiVO XCU that is no forwarding, voicemail from the line template and one external number."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import PbxUser, PhoneNumber, Platform, ProvisioningJob
from tests.portal.routes import line_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_xcu(customer):
    Platform.objects.filter(servers__tenants=customer.tenant).update(kind="xcu", base_url="http://127.0.0.1:9/api/1.0/")
    return customer


def test_the_user_page_on_xcu_offers_no_forwarding_pin_or_second_number(admin_client, on_xcu):
    response = admin_client.get(reverse("selfservice:user_detail", args=[on_xcu.line.pk]))
    body = response.content.decode()
    assert response.context["line_form"] is None, "no form without a setting to change, and no Save button"
    assert "XiVO XCU keeps no call forwarding or voicemail switch per user" in body
    assert "voicemail comes from the line template" in body
    assert response.context["number_form"] is None, "the line already has its one external number"
    assert "XiVO XCU keeps 1 external number per user" in body
    assert "Reset the voicemail PIN" not in body


def test_a_forged_post_of_forwarding_on_xcu_changes_nothing(admin_client, on_xcu):
    response = admin_client.post(reverse("selfservice:user_line", args=[on_xcu.line.pk]), line_data())
    assert response.status_code == 404, "there is no such page on XCU, and no 'saved' message"
    assert PbxUser.objects.get(pk=on_xcu.line.pk).forward_busy == ""
    assert not ProvisioningJob.objects.exists()


def test_my_line_on_xcu_keeps_name_and_email_only(end_user_client, on_xcu):
    response = end_user_client.get(reverse("selfservice:my_line"))
    assert set(response.context["form"].fields) == {"email"}
    assert "XiVO XCU keeps no call forwarding per user" in response.content.decode()


def test_the_create_form_on_xcu_has_no_display_name_or_voicemail_switch(admin_client, on_xcu):
    response = admin_client.get(reverse("selfservice:user_create", args=[on_xcu.tenant.pk]))
    assert not {"display_name", "voicemail_enabled"} & set(response.context["form"].fields)


def test_on_xc5_everything_but_emailing_voicemail_is_offered(admin_client, customer):
    response = admin_client.get(reverse("selfservice:user_detail", args=[customer.line.pk]))
    fields = set(response.context["line_form"].fields)
    assert {"forward_always", "forward_busy", "forward_no_answer", "voicemail_enabled"} <= fields
    assert "voicemail_to_email" not in fields
    assert "together with unanswered ones" in response.content.decode(), "the busy field says XC5 shares it"


def test_a_tenant_without_free_numbers_offers_no_empty_number_picker(admin_client, customer):
    PhoneNumber.objects.filter(tenant=customer.tenant, assigned_user__isnull=True).update(tenant=None)
    response = admin_client.get(reverse("selfservice:user_detail", args=[customer.line.pk]))
    assert response.context["number_form"] is None
    assert "has no free external number left" in response.content.decode()


# ---------------------------------------------------------------------- documented API only
@pytest.fixture
def documented_xcu(customer):
    Platform.objects.filter(servers__tenants=customer.tenant).update(
        kind="xcu", base_url="http://127.0.0.1:9/api/1.0/", documented_only=True
    )
    return customer


@pytest.fixture
def documented_xc5(customer):
    Platform.objects.filter(servers__tenants=customer.tenant).update(documented_only=True)
    return customer


def test_documented_only_xcu_offers_no_email_or_number_and_says_why(admin_client, documented_xcu):
    body = admin_client.get(reverse("selfservice:user_detail", args=[documented_xcu.line.pk])).content.decode()
    assert "used through its documented API only: an e-mail address per user and external numbers" in body
    assert "which has no place for external numbers (DDIs) on a user" in body
    create = admin_client.get(reverse("selfservice:user_create", args=[documented_xcu.tenant.pk]))
    assert "email" not in create.context["form"].fields


def test_documented_only_xcu_leaves_an_end_user_nothing_to_change(end_user_client, documented_xcu):
    mine = end_user_client.get(reverse("selfservice:my_line"))
    assert not mine.context["form"].fields
    assert "Nothing about this line can be changed here on XiVO XCU" in mine.content.decode()


def test_documented_only_xcu_refuses_a_forged_email_with_the_reason(end_user_client, documented_xcu):
    response = end_user_client.post(reverse("selfservice:my_line"), {"email": "new@example.com"})
    assert PbxUser.objects.get(pk=documented_xcu.line.pk).email != "new@example.com"
    assert response.status_code in (200, 302) and not ProvisioningJob.objects.exists()


def test_documented_only_xc5_keeps_forward_always_and_says_what_is_off(admin_client, documented_xc5):
    response = admin_client.get(reverse("selfservice:user_detail", args=[documented_xc5.line.pk]))
    body = response.content.decode()
    assert set(response.context["line_form"].fields) == {"forward_always"}
    assert "This XC5 platform is used through its documented API only, which has no place for voicemail" in body
    assert "a voicemail PIN" in body
