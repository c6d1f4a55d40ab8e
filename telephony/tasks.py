"""Celery tasks: thin wrappers around the provisioning engine and the services. They register
themselves as the queue behind `telephony.queue` (see `TelephonyConfig.ready`)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model

from telephony import queue, search
from telephony.drift import scan as drift_scan
from telephony.drift import schedule
from telephony.imports.services import import_run_process
from telephony.provisioning import drain, retention, runner, sweep, verification
from telephony.services import configurator_orders, cti_checks
from telephony.services.platforms import platform_check, platforms_check_due, servers_import
from telephony.webhooks import delivery as webhook_delivery
from telephony.webhooks import health as server_health
from telephony.webhooks import retention as webhook_retention


@shared_task(name=queue.RUN_JOB, acks_late=True, ignore_result=True)
def run_provisioning_job(job_id: int) -> str:
    return runner.run_job(job_id)


@shared_task(
    name=queue.DRAIN_SERVER,
    acks_late=True,
    ignore_result=True,
    # the last job a drain starts keeps the time a job of its own would have
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT + drain.DRAIN_SECONDS,
    time_limit=settings.CELERY_TASK_TIME_LIMIT + drain.DRAIN_SECONDS,
)
def drain_server(server_id: int) -> str:
    return drain.drain_server(server_id)


@shared_task(name="telephony.sweep_provisioning_jobs", ignore_result=True)
def sweep_provisioning_jobs() -> dict[str, int]:
    return sweep.sweep()


@shared_task(name=queue.CHECK_PLATFORM, ignore_result=True)
def check_platform(platform_id: int) -> None:
    platform_check(platform_id=platform_id)


@shared_task(name=queue.IMPORT_SERVERS, ignore_result=True)
def import_servers(platform_id: int, actor_id: int) -> str:
    return servers_import(actor=get_user_model().objects.get(pk=actor_id), platform_id=platform_id)


@shared_task(name=queue.PROCESS_IMPORT, ignore_result=True, soft_time_limit=1800, time_limit=1900)
def process_import_run(run_id: int, step: str) -> str:
    """Check ("check") or commit ("commit") a large CSV import in the background."""
    return import_run_process(run_id=run_id, step=step).status


@shared_task(name=queue.SCAN_SERVER, ignore_result=True, soft_time_limit=1800, time_limit=1900)
def scan_server_task(server_id: int, tenant_id: int | None, trigger: str, requested_by_id: int | None) -> str:
    """Read a server (or one tenant of it) back and compare it with the mirror, once the users bulk
    creates left to join their entities have joined them; while its jobs take every slot of the
    server, try again a little later."""
    scan = verification.scan_pushed(
        server_id=server_id, tenant_id=tenant_id, trigger=trigger, requested_by_id=requested_by_id
    )
    if scan == drift_scan.BUSY:
        queue.send(queue.SCAN_SERVER, server_id, tenant_id, trigger, requested_by_id, countdown=30)
    return scan if isinstance(scan, str) else scan.status


@shared_task(name=queue.VERIFY_PUSHED, ignore_result=True, soft_time_limit=1800, time_limit=1900)
def verify_pushed(server_id: int) -> str:
    """Read back what the server's drains pushed unseen, unless its jobs run again (their drain
    then reads it when it ends) or a scan has read it meanwhile."""
    return verification.verify_pushed(server_id)


@shared_task(name="telephony.check_platforms_due", ignore_result=True)
def check_platforms_due() -> int:
    """Queue the connection tests that are due (free slots and health kept current)."""
    return platforms_check_due()


@shared_task(name="telephony.plan_drift_scans", ignore_result=True)
def plan_drift_scans() -> int:
    """Hand the servers due for their scheduled scan to the queue, a few at a time."""
    return schedule.send_due_scans()


@shared_task(name=queue.APPLY_CONFIGURATOR_EVENT, acks_late=True, ignore_result=True)
def apply_configurator_event(event_id: int) -> str:
    return configurator_orders.configurator_event_apply(event_id=event_id)


@shared_task(name=queue.IMPORT_CONFIGURATOR_ORDER, acks_late=True, ignore_result=True, soft_time_limit=1800,
             time_limit=1900)  # fmt: skip
def import_configurator_order(order_id: int) -> str:
    """Bring what a completed Configurator order built into the mirror."""
    return configurator_orders.configurator_order_import(order_id=order_id)


@shared_task(name="telephony.check_crm_integrations", ignore_result=True)
def check_crm_integrations() -> int:
    """Plan the CRM integrations' checks against their CTI service that are due."""
    return cti_checks.crm_integrations_check_due()


@shared_task(name="telephony.sweep_configurator_orders", ignore_result=True)
def sweep_configurator_orders() -> dict[str, int]:
    return configurator_orders.configurator_orders_sweep()


@shared_task(
    name=queue.DELIVER_WEBHOOK,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=webhook_delivery.TASK_SOFT_LIMIT,
    time_limit=webhook_delivery.TASK_HARD_LIMIT,
)
def deliver_webhook(delivery_id: int) -> str:
    return webhook_delivery.deliver(delivery_id)


@shared_task(name="telephony.sweep_webhook_deliveries", ignore_result=True)
def sweep_webhook_deliveries() -> dict[str, int]:
    return webhook_delivery.sweep()


@shared_task(name="telephony.remove_old_jobs", ignore_result=True)
def remove_old_jobs() -> dict[str, int]:
    return retention.remove_old_jobs()


@shared_task(name="telephony.remove_old_webhook_deliveries", ignore_result=True)
def remove_old_webhook_deliveries() -> dict[str, int]:
    return webhook_retention.remove_old_deliveries()


@shared_task(name="telephony.catch_up_search_indexes", ignore_result=True)
def catch_up_search_indexes() -> dict[str, int]:
    """The jobs and audit entries written since the last run, into their SQLite search tables."""
    return search.catch_up_indexes()


@shared_task(name="telephony.follow_server_health", ignore_result=True)
def follow_server_health() -> int:
    """Note each server's health; a turn to degraded or failing is a server.degraded event."""
    return server_health.follow()


TASKS = {
    task.name: task
    for task in (
        run_provisioning_job,
        drain_server,
        check_platform,
        import_servers,
        process_import_run,
        scan_server_task,
        verify_pushed,
        apply_configurator_event,
        import_configurator_order,
        deliver_webhook,
    )
}


def send(task: str, args: tuple[Any, ...], countdown: float | None) -> None:
    """The queue's sender: one message to the broker, no retry (the caller keeps the work pending)."""
    TASKS[task].apply_async(args, countdown=countdown, retry=False)
