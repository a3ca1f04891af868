"""The table of character drivers asynix ships: label, major, and how to make one.

RS starts a driver with ``chardev.run(row.factory, row.label)`` and maps ``row.major``
to it in VFS once its init is done. :func:`services` gives the rows as RS's
:class:`~servers.rs.service.ServiceSpec` (what boot hands RS). The majors are those of
:mod:`asynix.rootfs` (MINIX's where MINIX has them); the memory driver prefers MINIX's
slot MEM_PROC_NR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chardev.hello import HELLO_MAJOR, Hello
from chardev.lib import Faults, run
from chardev.log import LOG_MAJOR, Log
from chardev.memory import MEMORY_MAJOR, Memory
from kernel.com import MEM_PROC_NR
from servers.rs.service import ServiceSpec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from chardev.lib import Driver
    from kernel.process import Process


@dataclass(frozen=True)
class CharDriver:
    """One row: the driver ``label`` serving ``major``, made by ``factory()``."""

    label: str
    major: int
    factory: Callable[[], Driver]
    slot: int | None = None

    def body(self, *, faults: Faults | None = None) -> Callable[[Process], Awaitable[None]]:
        """The process body RS starts for this driver."""
        return run(self.factory, self.label, faults=faults)


DRIVERS: tuple[CharDriver, ...] = (
    CharDriver("memory", MEMORY_MAJOR, Memory, slot=MEM_PROC_NR),
    CharDriver("log", LOG_MAJOR, Log),
    CharDriver("hello", HELLO_MAJOR, Hello),
)
"""Every character driver, in start order."""


def services(*, faults: dict[str, Faults] | None = None) -> tuple[ServiceSpec, ...]:
    """RS's service-table rows for every driver (``faults``: crash plans by label)."""
    plans = faults or {}
    return tuple(
        ServiceSpec(
            row.label,
            lambda row=row: row.body(faults=plans.get(row.label)),  # type: ignore[misc]
            major=row.major,
            slot=row.slot,
        )
        for row in DRIVERS
    )


def driver(label: str) -> CharDriver:
    """The row of ``label``.

    Raises:
        KeyError: no such driver.
    """
    for row in DRIVERS:
        if row.label == label:
            return row
    raise KeyError(label)


__all__ = ["DRIVERS", "CharDriver", "driver", "services"]
