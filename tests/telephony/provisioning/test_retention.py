"""Retention (telephony/provisioning/retention.py): old succeeded jobs leave the jobs table, except
the newest of each object and operation, which the engine still reads (what a create learnt, that
a tenant's create went through); the old ones that stay lose their exchanges; failed and waiting
jobs and the audit log stay whatever their age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, PbxUser, ProvisioningJob
from telephony.provisioning import operations, retention
from telephony.provisioning.keys import target_key
from telephony.provisioning.revisions import tenant_reached_backend
from tests.factories import PbxUserFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    return xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)


def job(target, operation: str, status: str, days_ago: float, result: dict | None = None) -> ProvisioningJob:
    when = timezone.now() - timedelta(days=days_ago)
    made = ProvisioningJob.objects.create(
        target_type=ContentType.objects.get_for_model(target),
        target_id=target.pk,
        target_key=target_key(target),
        target_label=str(target),
        operation=operation,
        status=status,
        result=result or {},
        finished_at=when if status == JobStatus.SUCCEEDED else None,
    )
    JobAttempt.objects.create(
        job=made, number=1, started_at=when, outcome=status, exchanges=[{"method": "PUT", "url": "http://x/"}]
    )
    return made


def test_old_succeeded_jobs_go_and_the_newest_of_each_object_and_operation_stays(world):
    line = PbxUserFactory(tenant=world.tenant, entity=world.entity, template=world.template, internal_number="1701")
    create = job(line, "user.create", JobStatus.SUCCEEDED, 200, result={"xcu_user_id": 42})
    older, old = (job(line, "user.update", JobStatus.SUCCEEDED, days) for days in (150, 120))
    recent = job(line, "user.update", JobStatus.SUCCEEDED, 1)
    failed = job(line, "user.update", JobStatus.FAILED, 300)
    waiting = job(line, "number.assign", JobStatus.PENDING, 300)
    tenant_create = job(world.tenant, "tenant.create", JobStatus.SUCCEEDED, 400)
    audit_entries = LogEntry.objects.count()

    assert retention.remove_old_jobs(days=90, chunk=1) == {"jobs": 2, "attempts": 2}

    kept = set(ProvisioningJob.objects.values_list("pk", flat=True))
    assert kept == {create.pk, recent.pk, failed.pk, waiting.pk, tenant_create.pk}
    assert older.pk not in kept and old.pk not in kept
    with_attempts = set(JobAttempt.objects.values_list("job_id", flat=True))
    assert with_attempts == {recent.pk, failed.pk, waiting.pk}, "old succeeded ones keep no exchanges"
    assert operations._learnt_identity(target_key(line)) == {"xcu_user_id": 42}
    assert tenant_reached_backend(world.tenant)
    assert LogEntry.objects.count() == audit_entries
    assert retention.remove_old_jobs(days=90) == {"jobs": 0, "attempts": 0}, "a second run finds nothing"


def test_nothing_goes_when_retention_is_off_or_the_jobs_are_young(world, settings):
    line = PbxUserFactory(tenant=world.tenant, entity=world.entity, template=world.template, internal_number="1702")
    for days in (200, 150, 10):
        job(line, "user.update", JobStatus.SUCCEEDED, days)
    settings.JOB_RETENTION_DAYS = 0
    assert retention.remove_old_jobs() == {"jobs": 0, "attempts": 0}
    assert retention.remove_old_jobs(days=365) == {"jobs": 0, "attempts": 0}
    settings.JOB_RETENTION_DAYS = 90
    assert retention.remove_old_jobs() == {"jobs": 2, "attempts": 0}  # theirs went with them
    assert ProvisioningJob.objects.count() == JobAttempt.objects.count() == 1
    assert PbxUser.objects.filter(pk=line.pk).exists()
