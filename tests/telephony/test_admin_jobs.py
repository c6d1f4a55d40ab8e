"""Jobs, sync state and the dashboard in the admin, scoped like everything else."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, PbxUser, ProvisioningJob
from telephony.services.users import pbx_user_create
from tenants.models import Role
from tests.factories import PbxUserFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    return xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)


@pytest.fixture
def job(world, superuser):
    user = pbx_user_create(
        actor=superuser,
        user=PbxUser(
            tenant=world.tenant, entity=world.entity, template=world.template, username="ada",
            first_name="Ada", last_name="Lovelace", internal_number="1701",
        ),
    )  # fmt: skip
    job = ProvisioningJob.objects.get(target_id=user.pk)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED,
        attempts=1,
        last_error="internal number 1701 is outside the plan",
        finished_at=timezone.now(),
    )
    JobAttempt.objects.create(
        job=job,
        number=1,
        started_at=job.created_at,
        outcome="failed",
        exchanges=[
            {"method": "POST", "url": "http://x/api/1.0/users", "status": 400, "request_body": '{"password": "***"}'}
        ],
    )
    job.refresh_from_db()
    return job


def test_job_list_filters_and_page_show_attempts(tree, member, client, job):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    changelist = reverse("admin:telephony_provisioningjob_changelist")
    for query in (
        "",
        "?status__exact=failed",
        f"?tenant__id__exact={job.tenant_id}",
        f"?platform__id__exact={job.platform_id}",
    ):
        response = client.get(changelist + query)
        assert job in response.context["cl"].result_list, query
    page = client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk])).content.decode()
    assert "outside the plan" in page and "/api/1.0/users" in page and "Retry" in page
    assert f"entity:{job.tenant.entities.get().pk}, tenant:{job.tenant_id}" in page, "what the job waits for"


def test_retry_and_cancel_from_the_job_page(tree, member, client, job):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    client.post(reverse("admin:telephony_provisioningjob_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    client.post(reverse("admin:telephony_provisioningjob_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_viewers_cannot_retry(tree, member, client, job):
    client.force_login(member(tree.reseller, Role.VIEWER))
    assert client.post(reverse("admin:telephony_provisioningjob_retry", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_sibling_staff_get_404_on_jobs(tree, member, client, job):
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert job not in client.get(reverse("admin:telephony_provisioningjob_changelist")).context["cl"].result_list
    for name in ("change", "retry", "cancel", "history"):
        assert client.post(reverse(f"admin:telephony_provisioningjob_{name}", args=[job.pk])).status_code == 404, name
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_an_objects_page_shows_its_sync_state_and_jobs(tree, member, client, job):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    user = PbxUser.objects.get(pk=job.target_id)
    from telephony.provisioning.state import refresh_sync_state

    refresh_sync_state(job.target_type_id, job.target_id)
    page = client.get(reverse("admin:telephony_pbxuser_change", args=[user.pk])).content.decode()
    assert "badge-failed" in page and "outside the plan" in page and f"#{job.pk}" in page
    listing = client.get(reverse("admin:telephony_pbxuser_changelist") + "?sync_state__exact=failed")
    assert user in listing.context["cl"].result_list


def test_dashboard_counts_only_what_the_login_sees(tree, member, client, job):
    client.force_login(member(tree.reseller, Role.VIEWER))
    response = client.get(reverse("staff_dashboard"))
    assert response.status_code == 200
    assert response.context["counts"]["failed"] == 1 and response.context["failure_count"] == 1
    assert [row["server"] for row in response.context["servers"]] == [job.server]
    client.force_login(member(tree.sibling, Role.ADMIN))
    response = client.get(reverse("staff_dashboard"))
    assert response.context["counts"]["failed"] == 0 and not response.context["servers"]
    assert job.target_label not in response.content.decode()


def test_dashboard_needs_a_staff_login(client, job):
    assert client.get(reverse("staff_dashboard")).status_code == 302


def test_entity_administrator_works_only_on_granted_users(tree, client, world):
    from tests.factories import EntityFactory, UserFactory

    login = UserFactory()
    world.entity.administrators.add(login)
    mine = PbxUserFactory(tenant=world.tenant, entity=world.entity, internal_number="1750")
    other_entity = EntityFactory(tenant=world.tenant, intervals=[("2000", "2099")])
    theirs = PbxUserFactory(tenant=world.tenant, entity=other_entity, internal_number="2001")
    client.force_login(login)
    listing = client.get(reverse("admin:telephony_pbxuser_changelist"))
    assert list(listing.context["cl"].result_list) == [mine]
    assert client.get(reverse("admin:telephony_pbxuser_change", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:telephony_pbxuser_change", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:tenants_organization_changelist")).status_code == 403


def test_a_server_nothing_has_reached_and_that_was_never_tested_is_of_unknown_health(world, superuser):
    from telephony.selectors import server_health

    (row,) = server_health(superuser)
    assert row["health"] == "unknown"
    world.platform.last_check_ok = True
    world.platform.save(update_fields=["last_check_ok"])
    (row,) = server_health(superuser)
    assert row["health"] == "healthy", "a platform that answered its connection test"


def test_the_dashboard_is_offered_only_to_logins_that_see_jobs(tree, member, client, job, world):
    """An entity administrator sees no jobs (it follows its users' sync state instead): no dashboard
    link on the index, and the dashboard answers 403 like the job list it would link to."""
    from tests.factories import EntityFactory, TenantFactory, UserFactory

    own_entity_admin = UserFactory()
    world.entity.administrators.add(own_entity_admin)  # the job's user is in this entity
    client.force_login(own_entity_admin)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200 and reverse("staff_dashboard") not in index.content.decode()
    assert client.get(reverse("staff_dashboard")).status_code == 403
    assert (
        client.get(reverse("admin:telephony_provisioningjob_changelist") + "?status__exact=failed").status_code == 403
    )
    assert client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk])).status_code == 404

    sibling_tenant = TenantFactory(organization=tree.sibling_customer, server=world.server, name="sibling")
    sibling_entity_admin = UserFactory()
    EntityFactory(tenant=sibling_tenant, intervals=[("100", "199")]).administrators.add(sibling_entity_admin)
    client.force_login(sibling_entity_admin)
    assert client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk])).status_code == 404
    assert client.get(reverse("staff_dashboard")).status_code == 403

    client.force_login(member(tree.reseller, Role.VIEWER))
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("staff_dashboard") in index
    assert client.get(reverse("staff_dashboard")).status_code == 200


def test_a_jobs_exchanges_are_folded_pretty_printed_and_escaped(tree, member, client, job):
    answer = '{"error": {"message": "<img src=x onerror=alert(1)> {{ 7*7 }}", "code": 400}}'
    JobAttempt.objects.create(
        job=job, number=2, started_at=job.created_at, outcome="succeeded",
        exchanges=[
            {"method": "GET", "url": "http://x/api/1.0/users/7", "status": 200, "response_body": '{"id": 7}',
             "duration_ms": 12},
            {"method": "PUT", "url": "http://x/api/1.0/users/7", "status": 400, "response_body": answer},
            {"method": "PUT", "url": "http://x/api/1.0/users/7", "status": None, "error": "timed out"},
        ],
    )  # fmt: skip
    client.force_login(member(tree.reseller, Role.OPERATOR))
    page = client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk])).content.decode()
    assert '<details class="exchange"><summary><code>GET http://x/api/1.0/users/7</code> → 200' in page
    assert '<details class="exchange" open><summary><code>PUT http://x/api/1.0/users/7</code> → 400' in page
    assert "→ no answer" in page and "timed out" in page
    assert "{\n  &quot;id&quot;: 7\n}" in page, "JSON bodies are indented"
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt; {{ 7*7 }}" in page


def _actions(response) -> set[str]:
    form = response.context.get("action_form")
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_actions_are_offered_only_to_roles_that_can_use_them(tree, member, client, job, world):
    from tests.factories import UserFactory

    client.force_login(member(tree.reseller, Role.VIEWER))
    assert not _actions(client.get(reverse("admin:telephony_provisioningjob_changelist")))
    assert "Retry" not in client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk])).content.decode()
    client.force_login(member(tree.reseller, Role.OPERATOR))
    assert {"retry_selected", "cancel_selected"} <= _actions(
        client.get(reverse("admin:telephony_provisioningjob_changelist"))
    )
    entity_admin = UserFactory()
    world.entity.administrators.add(entity_admin)
    client.force_login(entity_admin)
    assert "delete_selected" not in _actions(client.get(reverse("admin:telephony_phonenumber_changelist")))


def test_an_action_on_a_selection_never_reaches_a_job_outside_the_login(tree, member, client, job):
    from tests.factories import PlatformFactory, ServerFactory, TenantFactory

    foreign = ProvisioningJob.objects.create(
        target_type=job.target_type, target_id=job.target_id, target_key="pbxuser:999999", target_label="x",
        operation="user.create", status=JobStatus.FAILED,
        tenant=TenantFactory(organization=tree.sibling_customer,
                             server=ServerFactory(platform=PlatformFactory(organization=tree.distributor))),
    )  # fmt: skip
    client.force_login(member(tree.reseller, Role.OPERATOR))
    response = client.post(
        reverse("admin:telephony_provisioningjob_changelist"),
        {"action": "retry_selected", "_selected_action": [job.pk, foreign.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert "1 job(s) will be tried again." in shown
    foreign.refresh_from_db()
    assert foreign.status == JobStatus.FAILED


def test_an_objects_provisioning_section_follows_its_push_live(tree, member, client, job):
    from telephony.models import PbxUser

    user = PbxUser.objects.get(pk=job.target_id)
    client.force_login(member(tree.reseller, Role.OPERATOR))
    page = client.get(reverse("admin:telephony_pbxuser_change", args=[user.pk])).content.decode()
    fragment_url = reverse("admin:telephony_pbxuser_provisioning", args=[user.pk])
    assert f'data-live-url="{fragment_url}"' in page and "telephony/live-state.js" in page
    ProvisioningJob.objects.filter(pk=job.pk).update(status=JobStatus.PENDING)
    assert 'data-live="yes"' in client.get(fragment_url).content.decode()
    ProvisioningJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    PbxUser.objects.filter(pk=user.pk).update(sync_state="verified")
    fragment = client.get(fragment_url).content.decode()
    assert 'data-live="no"' in fragment and "badge-verified" in fragment and "badge-succeeded" in fragment
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert client.get(fragment_url).status_code == 404


def test_a_page_with_nothing_to_edit_says_view_and_offers_no_save(tree, member, client, job):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    response = client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk]))
    body = response.content.decode()
    assert response.context["title"] == "View provisioning job"
    assert 'name="_save"' not in body and 'name="_continue"' not in body and "Retry" in body


def test_the_job_page_counts_the_backend_calls_of_its_attempts(tree, member, client, job):
    JobAttempt.objects.create(job=job, number=2, started_at=job.created_at, outcome="succeeded", calls=3)
    client.force_login(member(tree.reseller, Role.OPERATOR))
    response = client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk]))
    form = response.context["adminform"]
    fields = {line.field["name"]: line for fieldset in form for row in fieldset for line in row}
    assert fields["backend_calls"].contents() == "4", "1 logged by the first attempt (before calls were counted), 3"
    attempts = response.context["inline_admin_formsets"][0]
    shown = [line.contents() for form in attempts for fieldset in form for row in fieldset for line in row
             if line.field["name"] == "calls_made"]  # fmt: skip
    assert shown == ["1", "3"]
