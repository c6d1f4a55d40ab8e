"""A job's own answer in the API holds its attempts and the backend calls each made (the list
leaves them out); another organization's job answers 404."""

from __future__ import annotations

import pytest
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, PbxUser, ProvisioningJob
from telephony.services.users import pbx_user_create
from tests.portal.api.test_tokens_and_scope import API, bearer, token_of

pytestmark = pytest.mark.django_db


def _job_with_attempts(customer) -> ProvisioningJob:
    user = pbx_user_create(
        actor=customer.admin,
        user=PbxUser(tenant=customer.tenant, entity=customer.sales, template=customer.template, username="ada",
                     first_name="Ada", last_name="Lovelace", internal_number="2150"),
    )  # fmt: skip
    job = ProvisioningJob.objects.get(target_key=f"pbxuser:{user.pk}")
    now = timezone.now()
    JobAttempt.objects.create(job=job, number=1, started_at=now, finished_at=now, outcome="retry",
                              error="HTTP 503 <img src=x onerror=alert(1)>", calls=3)  # fmt: skip
    JobAttempt.objects.create(job=job, number=2, started_at=now, finished_at=now, outcome="succeeded",
                              exchanges=[{"method": "POST", "url": "http://x/users", "status": 201}])  # fmt: skip
    ProvisioningJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, attempts=2)
    return job


def test_a_job_answers_with_its_attempts_and_their_backend_calls(client, customer):
    job = _job_with_attempts(customer)
    answer = client.get(f"{API}/jobs/{job.pk}/", **bearer(token_of(customer.admin)))
    assert answer.status_code == 200
    body = answer.json()
    assert body["backend_calls"] == 4, "3 counted, and 1 logged by an attempt recorded before calls were counted"
    assert [(a["number"], a["outcome"], a["calls"]) for a in body["attempt_log"]] == [
        (1, "retry", 3),
        (2, "succeeded", 1),
    ]
    assert body["attempt_log"][0]["error"] == "HTTP 503 <img src=x onerror=alert(1)>", "JSON data, as it was"
    assert "exchanges" not in str(body), "what was sent and answered stays on the staff's job page"

    listed = client.get(f"{API}/jobs/", **bearer(token_of(customer.admin))).json()["results"]
    assert listed and all("attempt_log" not in row and "backend_calls" not in row for row in listed)


def test_another_organizations_job_answers_404(client, customer, sibling):
    theirs = _job_with_attempts(sibling)
    answer = client.get(f"{API}/jobs/{theirs.pk}/", **bearer(token_of(customer.admin)))
    missing = client.get(f"{API}/jobs/99999999/", **bearer(token_of(customer.admin)))
    assert answer.status_code == missing.status_code == 404
    assert answer.json() == missing.json()
