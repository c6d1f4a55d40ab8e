"""Every driver, by the platform kind it serves, and what each declares it can do.

The portal asks here for a platform's capabilities and for a driver that talks to it; it never
branches on a kind itself."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from telephony.backends.base import Connection, Driver
from telephony.backends.capabilities import Capabilities, TemplateSetting
from telephony.backends.http import ExchangeLog
from telephony.backends.xc5 import Xc5Driver
from telephony.backends.xcu import XcuDriver
from telephony.backends.xelion import XelionServerDriver
from telephony.backends.xelion_pm import XelionParkManagerDriver

DRIVERS: dict[str, type[Driver]] = {
    driver.kind: driver for driver in (XelionParkManagerDriver, XelionServerDriver, XcuDriver, Xc5Driver)
}

UNKNOWN = Capabilities(label=gettext_lazy("unknown platform"))


def kinds() -> list[tuple[str, str]]:
    """(kind, label) of every platform kind the portal has a driver for, in a stable order."""
    return [(kind, driver.capabilities.label) for kind, driver in DRIVERS.items()]


def kinds_that(wanted) -> list[str]:
    """The kinds whose capabilities satisfy `wanted` (a predicate), for queries over platforms."""
    return [kind for kind, driver in DRIVERS.items() if wanted(driver.capabilities)]


def settings_groups() -> dict[str, tuple[str, tuple[TemplateSetting, ...]]]:
    """The line-template settings of every platform, by group: {group: (label, settings)}."""
    groups: dict[str, tuple[str, tuple[TemplateSetting, ...]]] = {}
    for driver in DRIVERS.values():
        capabilities = driver.capabilities
        if capabilities.settings_group and capabilities.template_settings:
            groups.setdefault(
                capabilities.settings_group, (capabilities.settings_label, capabilities.template_settings)
            )
    return groups


def capabilities_of(kind: str, *, documented_only: bool = False) -> Capabilities:
    """What the platforms of this kind can do (nothing, for a kind without a driver); with
    `documented_only`, what is left without the API extensions beyond the vendor's documents."""
    driver = DRIVERS.get(kind)
    return driver.capabilities_for(documented_only=documented_only) if driver else UNKNOWN


def driver_for(connection: Connection, *, log: ExchangeLog | None = None) -> Driver:
    """The driver for a platform kind, talking to that connection."""
    try:
        driver_class = DRIVERS[connection.kind]
    except KeyError:
        raise ValueError(f"no driver for platform kind {connection.kind!r}") from None
    return driver_class(connection, log=log)
