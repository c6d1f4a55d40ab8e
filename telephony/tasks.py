"""Celery tasks: thin wrappers around the provisioning engine."""

from celery import shared_task

from telephony.provisioning import runner, sweep


@shared_task(name="telephony.run_provisioning_job", acks_late=True, ignore_result=True)
def run_provisioning_job(job_id: int) -> str:
    return runner.run_job(job_id)


@shared_task(name="telephony.sweep_provisioning_jobs", ignore_result=True)
def sweep_provisioning_jobs() -> dict[str, int]:
    return sweep.sweep()


@shared_task(name="telephony.check_platform", ignore_result=True)
def check_platform(platform_id: int) -> None:
    from telephony.services.platforms import platform_check

    platform_check(platform_id=platform_id)


@shared_task(name="telephony.import_servers", ignore_result=True)
def import_servers(platform_id: int, actor_id: int) -> str:
    from django.contrib.auth import get_user_model

    from telephony.services.platforms import servers_import

    return servers_import(actor=get_user_model().objects.get(pk=actor_id), platform_id=platform_id)


@shared_task(name="telephony.process_import_run", ignore_result=True, soft_time_limit=1800, time_limit=1900)
def process_import_run(run_id: int, step: str) -> str:
    """Check ("check") or commit ("commit") a large CSV import in the background."""
    from telephony.imports.services import import_run_process

    return import_run_process(run_id=run_id, step=step).status
