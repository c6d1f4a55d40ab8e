"""Periodic work of the organization floor (Celery finds this module in every app)."""

from __future__ import annotations

from celery import shared_task

from tenants.acting import close_expired_sessions


@shared_task(name="tenants.close_expired_acting_sessions", ignore_result=True)
def close_expired_acting_sessions() -> int:
    """Sessions of acting as a customer that nobody came back to end at their deadline."""
    return close_expired_sessions()
