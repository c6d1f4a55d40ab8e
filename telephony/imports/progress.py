"""How far a commit has come, told while its transaction is still open.

The import run's row cannot carry it then: the commit writes inside one transaction, which no
other connection sees until it ends (and on SQLite nobody else may write at all meanwhile). So the
worker writes its count to a cache shared with the web servers (settings.CACHES["import_progress"]:
files under var/ by default, Redis across machines), a few times per step, and the progress page
reads it there while the run is committing. Once the commit ends the run's own row holds the outcome.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from django.core.cache import caches
from django.utils.translation import gettext as _

from telephony.imports.base import PROGRESS_STEPS

KEEP_SECONDS = 6 * 60 * 60


def _key(run_id: int) -> str:
    return f"import-run:{run_id}:commit-progress"


def _cache():
    return caches["import_progress"]


def report(run_id: int, *, step: str, done: int, total: int) -> None:
    """The commit of run `run_id` is at `step`, `done` of its `total` rows. A cache that is down
    never stops an import: the bar then waits for the end."""
    with contextlib.suppress(Exception):  # progress is a courtesy: the import goes on
        _cache().set(_key(run_id), {"step": step, "done": done, "total": total, "at": time.time()}, KEEP_SECONDS)


def read(run_id: int) -> dict[str, Any] | None:
    try:
        return _cache().get(_key(run_id))
    except Exception:
        return None


def clear(run_id: int) -> None:
    with contextlib.suppress(Exception):
        _cache().delete(_key(run_id))


def overall(state: dict[str, Any]) -> tuple[int, int, str]:
    """(done, total, words) for the bar: the steps of a commit one after the other, each as long
    as the file, so the bar only ever moves forward."""
    steps = list(PROGRESS_STEPS)
    index = steps.index(state["step"]) if state["step"] in steps else 0
    rows = max(1, state["total"])
    done = index * rows + min(state["done"], rows)
    words = _("%(step)s: row %(done)s of %(total)s") % {
        "step": PROGRESS_STEPS[state["step"]],
        "done": f"{state['done']:,}",
        "total": f"{state['total']:,}",
    }
    return done, rows * len(steps), words


def progress_line(data: dict[str, Any]) -> str:
    """The progress bar's line of text, in the visitor's language (the script shows it as it is)."""
    status = data.get("status_label", "")
    if data.get("busy"):
        if data.get("phase"):
            return f"{status} — {data['phase']}"
        if data.get("total"):
            return _("%(status)s: row %(done)s of %(total)s") % {
                "status": status,
                "done": data.get("done"),
                "total": data["total"],
            }
        return f"{status}…"
    if data.get("jobs"):
        return _("Every change has been pushed or has failed.") if data.get("finished") else _("Pushing the changes…")
    return ""
