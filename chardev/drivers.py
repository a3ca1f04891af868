"""The table of character drivers asynix ships: label, major, and how to make one.

RS starts a driver with ``chardev.run(row.factory, row.label)`` and maps ``row.major``
to it in VFS once its init is done. :func:`services` gives the rows as RS's
:class:`~servers.rs.service.ServiceSpec` (what boot hands RS). The majors are those of
:mod:`asynix.rootfs` (MINIX's where MINIX has them); the memory driver prefers MINIX's
slot MEM_PROC_NR.

The console driver (``tty``) needs the machine's console hardware: its row says so
(``console=True``) and its factory is then called with the
:class:`~kernel.hw.console.Console` that boot made (``services(console=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chardev.hello import HELLO_MAJOR, Hello
from chardev.lib import Faults, run
from chardev.log import LOG_MAJOR, Log
from chardev.memory import MEMORY_MAJOR, Memory
from chardev.tty.driver import TTY_MAJOR, Tty
from chardev.tty.pty import PTY_MAJOR, Pty
from kernel.com import MEM_PROC_NR
from servers.rs.service import ServiceSpec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from chardev.lib import Driver
    from kernel.hw.console import Console
    from kernel.process import Process


@dataclass(frozen=True)
class CharDriver:
    """One row: the driver ``label`` serving ``major``, made by ``factory()``.

    With ``console`` set, the factory takes the console hardware: ``factory(console)``
    (``factory()`` when no console is given, e.g. on a bench).
    """

    label: str
    major: int
    factory: Callable[..., Driver]
    slot: int | None = None
    console: bool = False

    def body(
        self, *, faults: Faults | None = None, console: Console | None = None
    ) -> Callable[[Process], Awaitable[None]]:
        """The process body RS starts for this driver (on ``console`` if it needs one)."""
        factory = self.factory
        if self.console and console is not None:
            hw = console

            def factory() -> Driver:
                return self.factory(hw)

        return run(factory, self.label, faults=faults)


DRIVERS: tuple[CharDriver, ...] = (
    CharDriver("memory", MEMORY_MAJOR, Memory, slot=MEM_PROC_NR),
    CharDriver("log", LOG_MAJOR, Log),
    CharDriver("hello", HELLO_MAJOR, Hello),
    CharDriver("tty", TTY_MAJOR, Tty, console=True),
    CharDriver("pty", PTY_MAJOR, Pty),
)
"""Every character driver, in start order."""


def services(
    *, faults: dict[str, Faults] | None = None, console: Console | None = None
) -> tuple[ServiceSpec, ...]:
    """RS's service-table rows for every driver.

    ``faults``: crash plans by label; ``console``: the console hardware the tty driver
    drives (without one, each tty instance makes a console of its own).
    """
    plans = faults or {}
    return tuple(
        ServiceSpec(
            row.label,
            lambda row=row: row.body(faults=plans.get(row.label), console=console),  # type: ignore[misc]
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
