"""chardev: the async character-driver framework and its drivers (see docs/drivers.md).

``chardev.Driver`` is the base class of a driver, ``chardev.run(factory, label)`` the
process body RS starts; the drivers are :mod:`chardev.memory`, :mod:`chardev.log` and
:mod:`chardev.hello`, listed in :mod:`chardev.drivers`.
"""

from chardev.grant import Grant
from chardev.lib import (
    FAULT_POINTS,
    FAULTS,
    Cancelled,
    Driver,
    Faults,
    InjectedCrash,
    WouldBlock,
    run,
)

__all__ = [
    "FAULTS",
    "FAULT_POINTS",
    "Cancelled",
    "Driver",
    "Faults",
    "Grant",
    "InjectedCrash",
    "WouldBlock",
    "run",
]
