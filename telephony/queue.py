"""The port through which the engine and the services hand work to the task queue.

The queue itself (Celery's tasks, `telephony/tasks.py`) registers its sender when the app is
ready. Nothing here imports it: the tasks import the engine and the services, never the other way
round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RUN_JOB = "telephony.run_provisioning_job"
DRAIN_SERVER = "telephony.drain_server"
CHECK_PLATFORM = "telephony.check_platform"
IMPORT_SERVERS = "telephony.import_servers"
PROCESS_IMPORT = "telephony.process_import_run"
SCAN_SERVER = "telephony.scan_server"
VERIFY_PUSHED = "telephony.verify_pushed"
APPLY_CONFIGURATOR_EVENT = "telephony.apply_configurator_event"
IMPORT_CONFIGURATOR_ORDER = "telephony.import_configurator_order"
DELIVER_WEBHOOK = "telephony.deliver_webhook"

Sender = Callable[[str, tuple[Any, ...], float | None], None]
_sender: Sender | None = None


def register(sender: Sender) -> None:
    """Install the queue: `sender(task name, arguments, countdown)` sends or raises."""
    global _sender
    _sender = sender


def send(task: str, *args: Any, countdown: float | None = None) -> None:
    """Hand one task to the queue; raises what the queue raises (a broker that is down)."""
    if _sender is None:
        raise RuntimeError("no task queue is registered (TelephonyConfig.ready registers Celery's)")
    _sender(task, args, countdown)
