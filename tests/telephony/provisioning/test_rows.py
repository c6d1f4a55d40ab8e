"""The engine's written-out statements read and write what the ORM would: the same rows, fields
converted the same way (JSON, encrypted secrets, dates, booleans), related rows attached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.forms.models import model_to_dict
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, LineTemplateMirror, PbxUser, ProvisioningJob
from telephony.provisioning import rows
from tests.factories import EntityFactory, PbxUserFactory, PhoneNumberFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.fixture
def job(tree):
    tenant = TenantFactory(organization=tree.customer, backend_ref={"xcu_id": 7})
    user = PbxUserFactory(entity=EntityFactory(tenant=tenant))
    return ProvisioningJob.objects.create(
        target_type=ContentType.objects.get_for_model(PbxUser), target_id=user.pk, target_key=f"pbxuser:{user.pk}",
        target_label="<b>{{ x }}</b>", operation="user.create", payload={"user": {"name": "Ada", "n": [1, 2]}},
        tenant=tenant, server=tenant.server, platform=tenant.server.platform, organization=tree.customer,
        next_attempt_at=timezone.now() - timedelta(seconds=3),
    )  # fmt: skip


def test_a_job_is_read_with_its_platform_tenant_server_and_organization_as_the_orm_reads_them(job):
    expected = ProvisioningJob.objects.select_related("platform", "tenant__server", "tenant__organization").get(
        pk=job.pk
    )
    read = rows.job_with_context(job.pk)

    assert _fields(read) == _fields(expected)
    assert read.payload == {"user": {"name": "Ada", "n": [1, 2]}} and read.next_attempt_at == expected.next_attempt_at
    assert _fields(read.platform) == _fields(expected.platform) and read.platform.secret == "superpass"
    assert _fields(read.tenant) == _fields(expected.tenant) and read.tenant.backend_ref == {"xcu_id": 7}
    assert _fields(read.tenant.server) == _fields(expected.tenant.server)
    assert _fields(read.tenant.organization) == _fields(expected.tenant.organization)
    read.last_error = "saved as any instance"
    read.save(update_fields=["last_error"])
    assert ProvisioningJob.objects.get(pk=job.pk).last_error == "saved as any instance"


def test_a_job_without_platform_or_tenant_has_none(job):
    ProvisioningJob.objects.filter(pk=job.pk).update(platform=None, tenant=None, server=None)
    read = rows.job_with_context(job.pk)
    assert read.platform is None and read.tenant is None and read.platform_id is None
    assert rows.job_with_context(job.pk + 1000) is None


def test_a_user_is_read_with_its_entity_template_numbers_and_intervals(tree):
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer), intervals=[("2000", "2099"), ("1000", "")])
    user = PbxUserFactory(entity=entity, voicemail_pin="4321", backend_ref={"xcu_id": 9})
    for number, pilot in (("+31205550002", False), ("+31205550001", True)):
        PhoneNumberFactory(number=number, tenant=entity.tenant, assigned_user=user, is_pilot=pilot,
                           organization=tree.customer)  # fmt: skip
    expected = PbxUser.objects.select_related("entity", "template").get(pk=user.pk)

    read = rows.user_with_line(user.pk)
    assert _fields(read) == _fields(expected) and read.voicemail_pin == "4321"
    assert model_to_dict(read.entity) == model_to_dict(expected.entity)
    assert model_to_dict(read.template) == model_to_dict(expected.template)
    assert rows.numbers_of(user.pk) == [("+31205550001", True), ("+31205550002", False)]
    assert rows.intervals_of(entity.pk) == [("1000", ""), ("2000", "2099")]
    assert rows.user_with_line(user.pk + 1000) is None


def test_a_template_mirror_is_read_or_none(tree):
    user = PbxUserFactory(entity=EntityFactory(tenant=TenantFactory(organization=tree.customer)))
    platform = user.tenant.server.platform
    assert rows.template_mirror(user.template_id, platform.pk) is None
    mirror = LineTemplateMirror.objects.create(template=user.template, platform=platform, backend_ref={"xcu_id": 3})
    read = rows.template_mirror(user.template_id, platform.pk)
    assert read.pk == mirror.pk and read.backend_ref == {"xcu_id": 3}


def test_an_update_writes_only_while_the_row_still_matches(job):
    now = timezone.now()
    values = {"status": JobStatus.SUCCEEDED, "finished_at": now, "result": {"xcu_id": 5}, "lease_expires_at": None}
    assert rows.update_row(ProvisioningJob, job.pk, values, where={"status": JobStatus.RUNNING}) == 0
    assert ProvisioningJob.objects.get(pk=job.pk).status == JobStatus.PENDING

    assert rows.update_row(ProvisioningJob, job.pk, values, where={"status": JobStatus.PENDING, "attempts": 0}) == 1
    job.refresh_from_db()
    assert (job.status, job.finished_at, job.result) == (JobStatus.SUCCEEDED, now, {"xcu_id": 5})


def test_an_inserted_instance_has_its_key_and_reads_back_the_same(job):
    attempt = JobAttempt(job=job, number=1, started_at=timezone.now(), outcome="running", worker="host:1")
    rows.insert_instance(attempt)
    assert attempt.pk is not None and not attempt._state.adding
    stored = JobAttempt.objects.get(pk=attempt.pk)
    assert _fields(stored) == _fields(attempt)
    assert stored.exchanges == [] and stored.calls == 0
