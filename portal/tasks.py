"""Celery tasks of the portal's own floor: thin wrappers around its services."""

from __future__ import annotations

from celery import shared_task

from portal import alerts


@shared_task(name="portal.send_alerts", ignore_result=True)
def send_alerts() -> dict[str, int]:
    return alerts.alerts_run()
