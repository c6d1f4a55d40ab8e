"""Job dependencies are rows of their own: "which jobs wait for target K" matches K exactly (never
a key that merely contains it), and a finished job wakes the first due job of its own target and
of every target that depends on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from telephony.models import JobDependency, JobStatus, PbxUser, ProvisioningJob
from telephony.provisioning import runner
from telephony.provisioning.dispatch import jobs_waiting_for

pytestmark = pytest.mark.django_db


def job(key: str, *, after: tuple[str, ...] = (), **fields) -> ProvisioningJob:
    created = ProvisioningJob.objects.create(
        target_type=ContentType.objects.get_for_model(PbxUser),
        target_id=int(key.split(":")[1]),
        target_key=key,
        target_label=key,
        operation="user.update",
        **fields,
    )
    JobDependency.objects.bulk_create(JobDependency(job=created, target_key=other) for other in after)
    return created


def test_a_job_waiting_through_the_table_is_found_and_a_longer_key_is_not():
    finished = job("pbxuser:1")
    waiting = job("phonenumber:5", after=("tenant:3", "pbxuser:1"))
    job("phonenumber:6", after=("pbxuser:12",))  # "pbxuser:12" contains "pbxuser:1"
    job("phonenumber:7", after=("pbxuser:1x",))
    job("phonenumber:8", after=("xpbxuser:1",))
    assert jobs_waiting_for(finished) == [waiting.pk]


def test_the_first_due_job_of_each_target_is_woken_and_no_earlier_or_finished_one():
    earlier_waiting = job("phonenumber:4", after=("pbxuser:1",))
    finished = job("pbxuser:1")
    next_of_own_target = job("pbxuser:1")
    job("pbxuser:1")  # after the next one of its target: that one wakes it
    first_number = job("phonenumber:5", after=("pbxuser:1",))
    job("phonenumber:5", after=("pbxuser:1",))  # the second job of that number waits for the first
    job("phonenumber:6", after=("pbxuser:1",), status=JobStatus.SUCCEEDED)
    job("phonenumber:7", after=("pbxuser:1",), next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert jobs_waiting_for(finished) == [next_of_own_target.pk, first_number.pk]
    assert earlier_waiting.pk not in jobs_waiting_for(finished)


def test_a_job_waits_for_the_earlier_jobs_of_the_targets_it_depends_on_only():
    user_create = job("pbxuser:1")
    other_user = job("pbxuser:12")
    number = job("phonenumber:5", after=("pbxuser:1",))
    assert runner.earlier_unfinished(number) == user_create
    ProvisioningJob.objects.filter(pk=user_create.pk).update(status=JobStatus.SUCCEEDED)
    assert runner.earlier_unfinished(number) is None, f"job #{other_user.pk} of pbxuser:12 does not hold it"


def test_dependencies_go_with_their_job():
    waiting = job("phonenumber:5", after=("pbxuser:1", "tenant:3"))
    assert waiting.dependency_keys() == ["pbxuser:1", "tenant:3"]
    waiting.delete()
    assert not JobDependency.objects.exists()
