"""The top floor: settings, URLs, the Celery app, the self-service site and the staff dashboard."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
