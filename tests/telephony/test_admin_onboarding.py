"""Issue 16, part 2: the onboarding wizard in the staff admin (`telephony.admin.onboarding`): each
step checked before the next, nothing written before the confirmation, the confirmation checking
everything again (a tampered form or session is refused), other roles and other organizations 404."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from telephony.admin.onboarding import SESSION_KEY
from telephony.models import ProvisioningBatch, ProvisioningJob, Tenant
from tenants.models import Organization, Role
from tests.factories import LineTemplateFactory, PhoneNumberFactory, PlatformFactory, ServerFactory

pytestmark = pytest.mark.django_db

HOSTILE = "{{ 7*7 }} <img src=x onerror=alert(1)>"
USERS_CSV = b"internal_number,first_name,last_name,email,entity\n1701,Ann,Able,ann@new.example,sales\n"


@pytest.fixture
def world(tree, member):
    platform = PlatformFactory(organization=tree.distributor)
    return {
        "tree": tree,
        "admin": member(tree.reseller, Role.ADMIN),
        "server": ServerFactory(platform=platform, name="shared-server", capacity_tenants=5),
        "unshared": ServerFactory(platform=PlatformFactory(organization=tree.sibling), name="sibling-server"),
        "numbers": [PhoneNumberFactory(number=f"+3120555010{i}", organization=tree.reseller) for i in range(3)],
        "foreign_number": PhoneNumberFactory(number="+31205559999", organization=tree.sibling),
        "template": LineTemplateFactory(organization=tree.reseller, name="Standard"),
    }


@pytest.fixture
def admin_client(client, world):
    client.force_login(world["admin"])
    return client


def url(name: str) -> str:
    return reverse(f"onboarding_{name}")


def walk(client, world, *, name: str = "New Bricks", csv: bytes = USERS_CSV) -> None:
    """Post the six steps as a reseller administrator would; each must pass."""
    posts = [
        ("customer", {"parent": world["tree"].reseller.pk, "name": name}),
        ("tenant", {"server": world["server"].pk, "name": "newbricks", "label": name, "licences": 20}),
        ("entities", entity_rows(("sales", name, "1700-1799, 1961"))),
        ("numbers", {"numbers": [world["numbers"][0].number], "count": 1}),
        ("administrator", {"username": "newbricks.admin", "email": "boss@new.example", "first_name": name}),
    ]
    for step, data in posts:
        response = client.post(url(step), data)
        assert response.status_code == 302, (step, errors_of(response))
    files = {"file": SimpleUploadedFile("users.csv", csv, content_type="text/csv")} if csv else {}
    response = client.post(url("users"), {"template": world["template"].pk, **files})
    assert response.status_code == 302 and response["Location"] == url("confirm"), errors_of(response)


def entity_rows(*rows: tuple[str, str, str]) -> dict:
    data = {"entity-TOTAL_FORMS": 3, "entity-INITIAL_FORMS": 0, "entity-MIN_NUM_FORMS": 0, "entity-MAX_NUM_FORMS": 50}
    for index, (name, display, plan) in enumerate(rows):
        data.update({f"entity-{index}-name": name, f"entity-{index}-display_name": display})
        data[f"entity-{index}-intervals"] = plan
    return data


def errors_of(response) -> str:
    if response.status_code != 200:
        return str(response.status_code)
    context = response.context
    form = context.get("form")
    found = [*context.get("refusals", [])]
    if form is not None:
        found.append(str(getattr(form, "errors", "")))
    return " ".join(found)


def nothing_written() -> bool:
    return (
        not Organization.objects.filter(kind="customer").exclude(name__in=["Customer", "Sibling customer"]).exists()
        and not Tenant.objects.exists()
        and not ProvisioningJob.objects.exists()
        and not get_user_model().objects.filter(username="newbricks.admin").exists()
    )


def test_the_wizard_onboards_in_one_go_and_shows_the_batch(
    admin_client, world, mailoutbox, django_capture_on_commit_callbacks
):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert url("start") in index
    walk(admin_client, world)
    assert nothing_written(), "nothing is written before the confirmation"
    page = admin_client.get(url("confirm")).content.decode()
    assert "newbricks" in page and "1 user" in page and "+31205550100" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("confirm"))
    batch = ProvisioningBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == url("done") + f"?batch={batch.pk}"
    tenant = Tenant.objects.get(name="newbricks")
    assert sorted(tenant.phone_numbers.values_list("number", flat=True)) == ["+31205550100", "+31205550101"]
    assert tenant.users.count() == 1 and set(ProvisioningJob.objects.values_list("batch", flat=True)) == {batch.pk}
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["boss@new.example"]
    assert SESSION_KEY not in admin_client.session
    done = admin_client.get(response["Location"]).content.decode()
    assert 'id="import-progress"' in done and "telephony/import-progress.js" in done
    progress = admin_client.get(url("progress") + f"?batch={batch.pk}").json()
    assert progress["jobs"]["total"] == ProvisioningJob.objects.count() and not progress["finished"]


def test_hostile_names_are_shown_escaped(admin_client, world):
    walk(admin_client, world, name=HOSTILE)
    page = admin_client.get(url("confirm")).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    assert "{{ 7*7 }}" in page


def test_a_step_opens_only_after_the_steps_before_it(admin_client, world):
    assert admin_client.get(url("numbers"))["Location"] == url("customer")
    assert admin_client.get(url("confirm"))["Location"] == url("customer")


def test_a_tampered_form_is_refused_at_its_step(admin_client, world):
    admin_client.post(url("customer"), {"parent": world["tree"].reseller.pk, "name": "New Bricks"})
    tenant = {"server": world["unshared"].pk, "name": "newbricks", "licences": 20}
    response = admin_client.post(url("tenant"), tenant)
    assert response.status_code == 200 and "server" in response.context["form"].errors
    sibling = admin_client.post(url("customer"), {"parent": world["tree"].sibling.pk, "name": "New Bricks"})
    assert sibling.status_code == 200 and "parent" in sibling.context["form"].errors
    admin_client.post(url("tenant"), {**tenant, "server": world["server"].pk})
    admin_client.post(url("entities"), entity_rows(("sales", "", "1700-1799")))
    response = admin_client.post(url("numbers"), {"numbers": [world["foreign_number"].number]})
    assert response.status_code == 200 and "numbers" in response.context["form"].errors
    assert nothing_written()


def test_a_step_the_service_refuses_shows_why_and_keeps_what_was_typed(admin_client, world):
    admin_client.post(url("customer"), {"parent": world["tree"].reseller.pk, "name": "New Bricks"})
    admin_client.post(url("tenant"), {"server": world["server"].pk, "name": "newbricks", "licences": 20})
    response = admin_client.post(url("entities"), entity_rows(("sales", "", "1799-1700")))
    assert response.status_code == 200 and response.context["refusals"]
    assert "1799-1700" in response.content.decode()


def test_a_session_tampered_between_steps_is_checked_again_at_the_end(admin_client, world):
    """The session says the sibling reseller and the sibling's number: the confirmation refuses and writes nothing."""
    walk(admin_client, world)
    session = admin_client.session
    steps = session[SESSION_KEY]["steps"]
    steps["4"]["numbers"] = [world["foreign_number"].number]
    session[SESSION_KEY] = {"steps": steps}
    session.save()
    page = admin_client.get(url("confirm"))
    assert page.context["refusal"].step == 4
    response = admin_client.post(url("confirm"))
    assert response.status_code == 200 and response.context["refusal"] is not None
    steps["1"]["parent"] = world["tree"].sibling.pk
    session[SESSION_KEY] = {"steps": steps}
    session.save()
    response = admin_client.post(url("confirm"))
    assert response.status_code == 200 and response.context["refusal"].step == 1
    assert nothing_written()


def test_a_failure_at_the_last_step_writes_nothing(admin_client, world, mailoutbox, django_capture_on_commit_callbacks):
    walk(admin_client, world)
    # Meanwhile another user of the pool takes one of the numbers: the last write refuses all of it.
    taken = world["numbers"][0]
    taken.tenant = Tenant.objects.create(organization=world["tree"].customer, server=world["server"], name="other")
    taken.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("confirm"))
    assert response.status_code == 200 and response.context["refusal"].step == 4
    assert not Organization.objects.filter(name="New Bricks").exists()
    assert not ProvisioningJob.objects.exists() and not mailoutbox


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_operators_and_viewers_get_no_wizard(client, world, member, role):
    client.force_login(member(world["tree"].reseller, role))
    assert url("start") not in client.get(reverse("admin:index")).content.decode()
    for name in ("start", "customer", "confirm", "done", "progress"):
        assert client.get(url(name)).status_code == 404, name
    assert client.post(url("customer"), {"parent": world["tree"].reseller.pk, "name": "X"}).status_code == 404
    assert nothing_written()


def test_another_organizations_batch_is_404(admin_client, world):
    foreign = ProvisioningBatch.objects.create(organization=world["tree"].sibling_customer, label="Sibling batch")
    assert admin_client.get(url("done") + f"?batch={foreign.pk}").status_code == 404
    assert admin_client.get(url("progress") + f"?batch={foreign.pk}").status_code == 404
    assert admin_client.get(url("done") + "?batch=nonsense").status_code == 404


def test_entity_rows_kept_from_before_stay_until_emptied(admin_client, world):
    walk(admin_client, world)
    assert 'value="sales"' in admin_client.get(url("entities")).content.decode()
    rows = entity_rows(("sales", "Sales", "1700-1799"), ("office", "", "2000-2099"))
    assert admin_client.post(url("entities"), rows).status_code == 302
    half = admin_client.post(url("entities"), entity_rows(("sales", "Sales", "1700-1799"), ("office", "", "")))
    assert half.status_code == 200 and "intervals" in half.context["form"].forms[1].errors
    assert admin_client.post(url("entities"), entity_rows(("sales", "Sales", "1700-1799"))).status_code == 302
    assert [e["name"] for e in admin_client.session[SESSION_KEY]["steps"]["3"]["entities"]] == ["sales"]


def test_a_users_file_that_does_not_pass_is_refused_at_its_step_with_its_rows(admin_client, world):
    walk(admin_client, world, csv=b"")
    bad = USERS_CSV + b"9999,Out,Side,out@new.example,sales\n"
    upload = SimpleUploadedFile("users.csv", bad, content_type="text/csv")
    response = admin_client.post(url("users"), {"template": world["template"].pk, "file": upload})
    assert response.status_code == 200
    assert any(message.startswith("row 3") for message in response.context["refusals"])
    assert "content" not in admin_client.session[SESSION_KEY]["steps"].get("6", {})
    assert nothing_written()
