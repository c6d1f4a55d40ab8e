"""One driver per platform per worker thread, kept between jobs so that a session (cookie,
token) is reused instead of logging in for every job."""

from __future__ import annotations

import contextlib
import threading

from telephony.backends.base import Driver
from telephony.backends.http import ExchangeLog
from telephony.backends.registry import driver_for
from telephony.models import Platform

_local = threading.local()


def driver_for_platform(platform: Platform) -> Driver:
    cache: dict[int, tuple[object, Driver]] = _local.__dict__.setdefault("drivers", {})
    entry = cache.get(platform.pk)
    if entry is not None and entry[0] == platform.updated_at:
        return entry[1]
    if entry is not None:
        _close(entry[1])
    driver = driver_for(platform.connection(), log=ExchangeLog(limit=500))
    cache[platform.pk] = (platform.updated_at, driver)
    return driver


def forget_driver(platform_id: int) -> None:
    """Drop a cached driver (after an authentication failure: the next job logs in afresh)."""
    cache = _local.__dict__.get("drivers", {})
    entry = cache.pop(platform_id, None)
    if entry is not None:
        _close(entry[1])


def _close(driver: Driver) -> None:
    with contextlib.suppress(Exception):  # a failed logout must not stop the next job
        driver.close()
