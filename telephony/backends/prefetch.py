"""Reading ahead: the items of an iterator produced on a thread of their own, so that the next
answer of a PBX is on its way while this one is used."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import Any


def read_ahead(source: Iterator[Any], *, depth: int) -> Iterator[Any]:
    """The items of `source`, produced by a thread of its own up to `depth` items ahead: the PBX
    sends (and the driver parses) the next page while this one is matched. `source` must not use
    the database (the thread has no connection of its own). An error there is raised here."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[bool, Any]) -> bool:
        """Queue `entry` unless the reader has gone (then say so)."""
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not offer((True, item)):
                    return
            offer((False, None))
        except BaseException as error:  # handed to the reader, which raises it
            offer((False, error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # an answer still arriving is let go of

    thread = threading.Thread(target=produce, name="drift-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            more, item = queue.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=60)
