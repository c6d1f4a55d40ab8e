"""Celery tasks: thin wrappers around the provisioning engine."""

from celery import shared_task

from telephony.provisioning import runner, sweep


@shared_task(name="telephony.run_provisioning_job", acks_late=True, ignore_result=True)
def run_provisioning_job(job_id: int) -> str:
    return runner.run_job(job_id)


@shared_task(name="telephony.sweep_provisioning_jobs", ignore_result=True)
def sweep_provisioning_jobs() -> dict[str, int]:
    return sweep.sweep()
