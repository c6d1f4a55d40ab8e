"""The end user: their own line only — name shown, forwarding, voicemail, PIN, e-mail, numbers —
changed through the same service and provisioning job as everywhere."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import PbxUser, ProvisioningJob

pytestmark = pytest.mark.django_db

MY_LINE = reverse("selfservice:my_line")


def form_data(**overrides):
    data = {
        "display_name": "Alice L.",
        "email": "alice@example.net",
        "voicemail_enabled": "on",
        "new_pin": "",
        "forward_always": "",
        "forward_busy": "0201234567",  # XC5 forwards busy and unanswered calls to one destination
        "forward_no_answer": "0201234567",
        "forward_no_answer_timeout": "30",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_shows_the_line_its_numbers_and_its_settings(end_user_client, customer):
    response = end_user_client.get(MY_LINE)
    body = response.content.decode()
    assert response.context["line"].pk == customer.line.pk
    assert "2101" in body and customer.numbers_taken[0].number in body
    assert response.context["form"].initial["voicemail_enabled"] is True
    assert "97531" not in body, "the PIN is never shown back"


def test_the_home_page_leads_an_end_user_to_their_line(end_user_client):
    response = end_user_client.get("/")
    assert response.status_code == 302 and response["Location"] == MY_LINE


def test_setting_forwarding_voicemail_pin_and_email_pushes_one_update(end_user_client, customer):
    response = end_user_client.post(MY_LINE, form_data(new_pin="987654"))
    assert response.status_code == 302
    line = PbxUser.objects.get(pk=customer.line.pk)
    assert (line.display_name, line.email) == ("Alice L.", "alice@example.net")
    assert (line.forward_busy, line.forward_no_answer, line.forward_no_answer_timeout) == (
        "0201234567",
        "0201234567",
        30,
    )
    assert line.voicemail_pin == "987654"
    job = ProvisioningJob.objects.get()
    assert (job.operation, job.created_by) == ("user.update", customer.end_user)
    assert job.payload["user"]["forwarding"] == {
        "always": "",
        "busy": "0201234567",
        "no_answer": "0201234567",
        "no_answer_timeout": 30,
    }
    assert job.payload["user"]["display_name"] == "Alice L."
    page = end_user_client.get(MY_LINE).content.decode()
    assert "Update line" in page and 'data-unfinished="true"' in page


def test_an_empty_pin_keeps_the_current_one(end_user_client, customer):
    end_user_client.post(MY_LINE, form_data())
    assert PbxUser.objects.get(pk=customer.line.pk).voicemail_pin == "97531"


def test_saving_without_a_change_pushes_nothing(end_user_client, customer):
    line = customer.line
    unchanged = form_data(
        display_name="",
        email=line.email,
        forward_busy="",
        forward_no_answer="",
        forward_no_answer_timeout=str(line.forward_no_answer_timeout),
    )
    assert end_user_client.post(MY_LINE, unchanged).status_code == 302
    assert not ProvisioningJob.objects.exists()


def test_only_the_line_fields_can_change_whatever_is_posted(end_user_client, customer):
    tampered = form_data(
        internal_number="2999", first_name="Mallory", template=customer.template.pk, entity=customer.office.pk
    )
    tampered.update({"portal_user": "", "tenant": "999", "username": "root"})
    end_user_client.post(MY_LINE, tampered)
    line = PbxUser.objects.get(pk=customer.line.pk)
    assert (line.internal_number, line.first_name, line.entity_id, line.username, line.portal_user_id) == (
        "2101",
        "Alice",
        customer.sales.pk,
        "acme.first",
        customer.end_user.pk,
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"forward_always": "my mobile"}, "forward_always", "phone number"),
        ({"forward_no_answer_timeout": "2"}, "forward_no_answer_timeout", "greater than or equal to 5"),
        ({"new_pin": "12"}, "new_pin", "at least 4"),
        ({"new_pin": "12ab"}, "new_pin", "4 to 8 digits"),
        ({"new_pin": "4321", "voicemail_enabled": None}, "new_pin", "Turn voicemail on"),
        ({"email": "alice-at-example"}, "email", "valid email"),
    ],
)
def test_bad_input_is_refused_next_to_its_field(end_user_client, customer, overrides, field, message):
    response = end_user_client.post(MY_LINE, form_data(**overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field]), response.context["form"].errors
    assert f'id="error_1_id_{field}"' in response.content.decode()
    assert not ProvisioningJob.objects.exists()
    assert PbxUser.objects.get(pk=customer.line.pk).voicemail_pin == "97531"


def test_voicemail_off_removes_the_pin(end_user_client, customer):
    end_user_client.post(MY_LINE, form_data(voicemail_enabled=None))
    line = PbxUser.objects.get(pk=customer.line.pk)
    assert (line.voicemail_enabled, line.voicemail_pin) == (False, None)


def test_the_pushes_endpoint_follows_the_users_own_line(end_user_client, customer):
    end_user_client.post(MY_LINE, form_data())
    body = end_user_client.get(reverse("selfservice:my_line_pushes")).json()
    assert [job["what"] for job in body["jobs"]] == ["Update line"]
    assert body["unfinished"] is True and body["sync"]["state"] == "pending"


def test_a_deactivated_login_loses_its_line(client, customer):
    client.force_login(customer.end_user)
    customer.end_user.is_active = False
    customer.end_user.save()
    response = client.get(MY_LINE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("selfservice:login"))
