"""A child process's side of a benchmark that runs sizes side by side: the parent's orders."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable


def reply(message: dict) -> None:
    """One JSON line to the parent (a child's standard output is for its answers only)."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer_timing_orders(ask: Callable[[str], object]) -> None:
    """Until standard input closes: each order (a case and a number of runs) asked that many times,
    answered with the milliseconds of every run."""
    for line in sys.stdin:
        order = json.loads(line)
        timings = []
        for _ in range(order["runs"]):
            start = time.perf_counter()
            ask(order["case"])
            timings.append((time.perf_counter() - start) * 1000)
        reply({"timings": timings})
