"""RS's service table: what RS may start, and how.

A :class:`ServiceSpec` is one row: the service's label, a zero-argument factory that
makes a fresh process body for each instance (a restart gets a new body, as a fresh
process image would), the privileges it runs with, the major it serves if it is a
character driver (RS then tells VFS with ``VfsMapdriver``), and whether RS restarts
it when it dies. Boot hands RS the table (see :data:`asynix.bootimage.SERVICES`);
adding a driver is adding one row there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel.priv import SYSTEM_PRIV, Priv

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.process import Process

    ServiceBody = Callable[[Process], Awaitable[Any]]
    """A service's process body: ``async def main(proc: Process) -> object``."""


@dataclass(frozen=True)
class ServiceSpec:
    """One row of RS's service table.

    Attributes:
        label: the service's name (its DS label and its kernel process name).
        factory: makes the body of a new instance (called once per start).
        major: the character-device major it serves, or None if not a char driver.
        priv: its privileges (services are system processes).
        restart: restart it when it dies (False: a crash takes it down for good).
        boot: start it when RS starts (False: only on ``RsUp``).
        slot: the process-table slot it prefers (None: the first free one above the
            boot image's fixed slots).
    """

    label: str
    factory: Callable[[], ServiceBody]
    major: int | None = None
    priv: Priv = SYSTEM_PRIV
    restart: bool = True
    boot: bool = True
    slot: int | None = None
