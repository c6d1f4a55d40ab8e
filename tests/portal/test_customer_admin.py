"""The customer administrator: dashboard, users with search and pagination, create / edit / delete
with the next free number and a free DDI offered, voicemail, forwarding, PIN reset, numbers — every
change through the services, so every change plans its provisioning job."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from telephony.models import JobStatus, PbxUser, PhoneNumber, ProvisioningJob
from tests.factories import PbxUserFactory
from tests.portal.routes import edit_data, line_data, new_user_data

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"selfservice:{name}", args=args)


def operations():
    return list(ProvisioningJob.objects.order_by("id").values_list("operation", flat=True))


def test_the_dashboard_shows_tenants_users_against_licences_numbers_and_recent_pushes(admin_client, customer):
    line = PbxUser.objects.get(pk=customer.line.pk)
    line.first_name = "Alicia"
    from telephony.services.users import pbx_user_update

    pbx_user_update(actor=customer.admin, user=line)
    ProvisioningJob.objects.update(
        status=JobStatus.FAILED, last_error="XCU said: number 2101 is in use on XiVO xivo-220", error_kind="conflict"
    )
    response = admin_client.get(url("dashboard"))
    body = response.content.decode()
    assert [t.pk for t in response.context["tenants"]] == [customer.tenant.pk]
    tenant = response.context["tenants"][0]
    assert (tenant.user_count, tenant.licences, tenant.number_count, tenant.free_number_count) == (2, 500, 4, 3)
    assert "2 / 500" in body
    assert "Update line" in body and "Alicia First-acme (2101)" in body
    assert "The PBX holds something else under this number or name" in body, "a failed push says why"
    assert "xivo-220" not in body and "XCU said" not in body, "in words that name nothing of the platform"


def test_the_user_list_searches_by_name_number_and_ddi_and_pages_through_many_users(admin_client, customer):
    customer.add_users(40)
    response = admin_client.get(url("user_list"))
    assert response.context["page_obj"].paginator.count == 42
    assert len(response.context["users"]) == 25
    second = admin_client.get(url("user_list") + "?page=2")
    assert len(second.context["users"]) == 17
    assert not {u.pk for u in response.context["users"]} & {u.pk for u in second.context["users"]}

    by_name = admin_client.get(url("user_list"), {"q": "first-acme"})
    assert [u.pk for u in by_name.context["users"]] == [customer.line.pk]
    # by internal number (a factory's sequence may put the same digits in another user's username
    # or number: only the customer's users with 2102 as their internal number are asked about)
    by_number = admin_client.get(url("user_list"), {"q": "2102"})
    found = [u for u in by_number.context["users"]]
    assert [u.pk for u in found if u.internal_number == "2102"] == [customer.users[1].pk]
    assert len(found) < 5
    ddi = customer.numbers_taken[0].number
    by_ddi = admin_client.get(url("user_list"), {"q": ddi[-6:]})
    assert customer.line.pk in [u.pk for u in by_ddi.context["users"]]
    assert "page=2" in admin_client.get(url("user_list"), {"q": "Ada"}).content.decode()


def test_the_create_form_suggests_the_next_free_number_and_offers_only_free_ddis(admin_client, customer):
    response = admin_client.get(url("user_new"))
    assert response.status_code == 302 and response["Location"] == url("user_create", customer.tenant.pk)
    form = admin_client.get(response["Location"]).context["form"]
    assert form.initial["internal_number"] == "2000", "the office entity (2000–2099) is empty"
    assert form["entity"].value() == customer.office.pk
    assert json.loads(form.fields["entity"].widget.attrs["data-next-numbers"])[str(customer.sales.pk)] == "2100"
    PbxUserFactory(tenant=customer.tenant, entity=customer.sales, template=customer.template, internal_number="2100")
    form = admin_client.get(response["Location"]).context["form"]
    next_numbers = json.loads(form.fields["entity"].widget.attrs["data-next-numbers"])
    assert next_numbers == {str(customer.sales.pk): "2103", str(customer.office.pk): "2000"}, "skips 2101 and 2102"
    assert set(form.fields["number"].queryset) == set(customer.free_numbers)
    assert set(form.fields["entity"].queryset) == {customer.sales, customer.office}


def test_creating_a_user_with_a_ddi_plans_its_create_and_number_jobs(admin_client, customer):
    response = admin_client.post(url("user_create", customer.tenant.pk), new_user_data(customer))
    user = PbxUser.objects.get(username="nina.new")
    assert response.status_code == 302 and response["Location"] == url("user_detail", user.pk)
    assert (user.tenant, user.entity, user.internal_number, user.voicemail_enabled) == (
        customer.tenant,
        customer.sales,
        "2150",
        True,
    )
    assert PhoneNumber.objects.get(pk=customer.free_numbers[0].pk).assigned_user == user
    assert operations() == ["user.create", "number.assign"]
    assert ProvisioningJob.objects.filter(created_by=customer.admin).count() == 2
    detail = admin_client.get(response["Location"]).content.decode()
    assert "Create line" in detail and "Add number" in detail and 'data-unfinished="true"' in detail


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"internal_number": "3000"}, "internal_number", "outside the number plan"),
        ({"internal_number": "2102"}, "internal_number", "already taken"),
        ({"internal_number": "12a"}, "internal_number", "1 to 6 digits"),
        ({"username": "acme.second"}, "username", "already a user of"),
        ({"username": "Nina New"}, "username", "lower-case letters"),
        ({"email": "not-an-address"}, "email", "valid email"),
        ({"mobile_number": "0612"}, "mobile_number", "E.164"),
        ({"first_name": ""}, "first_name", "required"),
    ],
)
def test_bad_input_gets_its_message_next_to_the_field_and_creates_nothing(
    admin_client, customer, overrides, field, message
):
    response = admin_client.post(url("user_create", customer.tenant.pk), new_user_data(customer, **overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field]), form.errors
    assert not form.non_field_errors()
    assert f'id="error_1_id_{field}"' in response.content.decode(), "rendered under its field"
    assert not PbxUser.objects.filter(username="nina.new").exists()
    assert not ProvisioningJob.objects.exists()


def test_a_full_tenant_refuses_a_new_user_with_the_services_message(admin_client, customer):
    customer.tenant.licences = 2
    customer.tenant.save()
    response = admin_client.post(url("user_create", customer.tenant.pk), new_user_data(customer))
    assert response.status_code == 200
    assert "no room for 1 more" in " ".join(response.context["form"].non_field_errors())
    assert not ProvisioningJob.objects.exists()


def test_a_ddi_taken_meanwhile_is_refused_and_nothing_is_created(admin_client, customer):
    number = customer.free_numbers[0]
    form_data = new_user_data(customer)
    PhoneNumber.objects.filter(pk=number.pk).update(assigned_user=customer.users[1])
    response = admin_client.post(url("user_create", customer.tenant.pk), form_data)
    assert response.status_code == 200 and "number" in response.context["form"].errors
    assert not PbxUser.objects.filter(username="nina.new").exists()


def test_editing_a_user_pushes_an_update(admin_client, customer):
    response = admin_client.post(url("user_edit", customer.line.pk), edit_data(customer, internal_number="2120"))
    assert response.status_code == 302
    line = PbxUser.objects.get(pk=customer.line.pk)
    assert (line.last_name, line.internal_number, line.email) == ("Renamed", "2120", "renamed@example.net")
    assert operations() == ["user.update"]
    assert ProvisioningJob.objects.get().payload["user"]["internal_number"] == "2120"


def test_moving_to_an_entity_whose_plan_excludes_the_number_is_refused_next_to_the_number(admin_client, customer):
    response = admin_client.post(url("user_edit", customer.line.pk), edit_data(customer, entity=customer.office.pk))
    assert response.status_code == 200
    assert "outside the number plan" in " ".join(response.context["form"].errors["internal_number"])
    assert not ProvisioningJob.objects.exists()


def test_voicemail_and_forwarding_are_saved_through_the_line_service(admin_client, customer):
    response = admin_client.post(url("user_line", customer.line.pk), line_data(forward_always="+31201112222"))
    assert response.status_code == 302
    line = PbxUser.objects.get(pk=customer.line.pk)
    assert (line.forward_always, line.forward_busy, line.forward_no_answer_timeout) == (
        "+31201112222",
        "0687654321",
        25,
    )
    assert line.voicemail_pin == "97531", "the PIN stays while voicemail stays on"
    job = ProvisioningJob.objects.get()
    assert job.operation == "user.update"
    assert job.payload["user"]["forwarding"]["always"] == "+31201112222"


def test_a_bad_forwarding_destination_is_refused_next_to_its_field(admin_client, customer):
    response = admin_client.post(url("user_line", customer.line.pk), line_data(forward_busy="call me"))
    assert response.status_code == 200
    assert "phone number" in " ".join(response.context["form"].errors["forward_busy"])
    assert not ProvisioningJob.objects.exists()


def test_turning_voicemail_off_also_drops_the_pin(admin_client, customer):
    admin_client.post(url("user_line", customer.line.pk), line_data(voicemail_enabled=None))
    line = PbxUser.objects.get(pk=customer.line.pk)
    assert (line.voicemail_enabled, line.voicemail_pin) == (False, None)


def test_a_pin_reset_shows_the_new_pin_once_and_pushes_it(admin_client, customer):
    response = admin_client.post(url("user_pin_reset", customer.line.pk))
    pin = response.context["pin"]
    assert len(pin) == 6 and pin.isdigit()
    assert PbxUser.objects.get(pk=customer.line.pk).voicemail_pin == pin
    assert response["Cache-Control"] == "no-store"
    job = ProvisioningJob.objects.get()
    assert pin not in str(job.payload), "the PIN is pushed from the encrypted row, never kept in a payload"
    from telephony.provisioning.operations import _user_spec

    assert _user_spec(job, job.target_key).voicemail_pin == pin
    assert pin not in admin_client.get(url("user_detail", customer.line.pk)).content.decode()


def test_a_pin_reset_without_voicemail_says_why(admin_client, customer):
    PbxUser.objects.filter(pk=customer.line.pk).update(voicemail_enabled=False, voicemail_pin=None)
    response = admin_client.post(url("user_pin_reset", customer.line.pk), follow=True)
    assert "Turn voicemail on" in response.content.decode()
    assert not ProvisioningJob.objects.exists()


def test_numbers_are_added_from_the_free_ones_and_released(admin_client, customer):
    number = customer.free_numbers[1]
    assert admin_client.post(url("user_number_add", customer.users[1].pk), {"number": number.pk}).status_code == 302
    assert PhoneNumber.objects.get(pk=number.pk).assigned_user_id == customer.users[1].pk
    taken = customer.numbers_taken[0]
    response = admin_client.post(url("user_number_release", customer.line.pk, taken.pk))
    assert response.status_code == 302
    assert PhoneNumber.objects.get(pk=taken.pk).assigned_user_id is None
    assert operations() == ["number.assign", "number.unassign"]


def test_another_users_number_cannot_be_added_nor_released_through_the_wrong_user(admin_client, customer):
    taken = customer.numbers_taken[0]
    response = admin_client.post(url("user_number_add", customer.users[1].pk), {"number": taken.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert admin_client.post(url("user_number_release", customer.users[1].pk, taken.pk)).status_code == 404
    assert PhoneNumber.objects.get(pk=taken.pk).assigned_user_id == customer.line.pk


def test_delete_asks_first_and_then_plans_the_removal(admin_client, customer):
    line = customer.users[1]
    confirm = admin_client.get(url("user_delete", line.pk))
    assert b"cannot be undone" in confirm.content and PbxUser.objects.filter(pk=line.pk).exists()
    response = admin_client.post(url("user_delete", line.pk))
    assert response.status_code == 302
    assert not PbxUser.objects.filter(pk=line.pk).exists()
    assert operations() == ["user.delete"]


def test_the_pushes_endpoint_reports_each_change_and_the_failure_reason(admin_client, customer):
    admin_client.post(url("user_line", customer.line.pk), line_data())
    body = admin_client.get(url("user_pushes", customer.line.pk)).json()
    assert body["unfinished"] is True and body["sync"]["state"] == "pending"
    assert [(j["what"], j["status_label"]) for j in body["jobs"]] == [("Update line", "pending")]
    ProvisioningJob.objects.update(status=JobStatus.FAILED, last_error="Rejected: destination not allowed")
    PbxUser.objects.filter(pk=customer.line.pk).update(
        sync_state="failed", sync_message="Rejected: destination not allowed"
    )
    body = admin_client.get(url("user_pushes", customer.line.pk)).json()
    assert body["unfinished"] is False
    assert body["jobs"][0]["status_label"] == "failed"
    assert body["jobs"][0]["note"] == "The PBX refused this change. Your provider has the details."
    assert body["sync"] == {
        "state": "failed",
        "label": "failed",
        "badge": "text-bg-danger",
        "message": "The last change did not reach the PBX. Your provider has the details.",
    }
    assert "destination not allowed" not in str(body), "the backend's words are for staff"
    page = admin_client.get(url("user_detail", customer.line.pk)).content.decode()
    assert "destination not allowed" not in page


def test_a_customer_with_two_tenants_chooses_one_and_filters_the_list(admin_client, customer):
    from tests.factories import TenantFactory

    other = TenantFactory(organization=customer.organization, server=customer.tenant.server, name="acme2")
    PbxUserFactory(tenant=other, entity__tenant=other, internal_number="1000", last_name="Elsewhere")
    chooser = admin_client.get(url("user_new"))
    assert chooser.status_code == 200 and {t.pk for t in chooser.context["tenants"]} == {customer.tenant.pk, other.pk}
    listed = admin_client.get(url("user_list"), {"tenant": other.pk})
    assert [u.last_name for u in listed.context["users"]] == ["Elsewhere"]


def test_a_reloaded_pin_page_resets_nothing_a_second_time(admin_client, customer):
    token = admin_client.get(url("user_detail", customer.line.pk)).context["pin_reset_token"]
    first = admin_client.post(url("user_pin_reset", customer.line.pk), {"token": token})
    pin = first.context["pin"]
    again = admin_client.post(url("user_pin_reset", customer.line.pk), {"token": token}, follow=True)
    assert "already done" in again.content.decode() and pin not in again.content.decode()
    assert PbxUser.objects.get(pk=customer.line.pk).voicemail_pin == pin
    assert ProvisioningJob.objects.filter(operation="user.update").count() == 1
