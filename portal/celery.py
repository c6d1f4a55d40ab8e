"""The Celery application: configured from Django settings (CELERY_*), tasks found in the apps.

Start a worker with `celery -A portal worker` (add `-B` for the periodic sweep in development).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
