"""Endpoints: the names processes use for each other.

An endpoint packs a process-table slot and a generation, as MINIX's ``_ENDPOINT``
does: ``endpoint = generation << 15 + slot``. Kernel tasks have negative slots and
generation 0. When a slot is reused (a service restarted, a pid recycled) its
generation grows, so an endpoint held for the old occupant no longer names anyone:
IPC aimed at it fails with EDEADSRCDST and never reaches the new process.
"""

from __future__ import annotations

from typing import Final

GENERATION_SHIFT: Final = 15
GENERATION_SIZE: Final = 1 << GENERATION_SHIFT
NR_TASKS: Final = 5
"""Kernel tasks occupy slots -NR_TASKS .. -1."""
NR_PROCS: Final = 256
"""Slots 0 .. NR_PROCS-1 hold servers, drivers and user processes."""

ANY: Final = 0x7ACE
"""Receive from anyone."""
NONE: Final = 0x6ACE
"""Nobody (also: physical addressing in copies)."""
SELF: Final = 0x8ACE
"""The caller itself."""

ASYNCM: Final = -5
"""Kernel task that notifies senders of finished asynchronous sends."""
IDLE: Final = -4
CLOCK: Final = -3
"""Kernel task whose notifications mean an alarm expired."""
SYSTEM: Final = -2
"""Kernel task that delivers kernel signals (SIGKSIG, SIGKMEM) as notifications."""
HARDWARE: Final = -1
"""Source of interrupt notifications."""
KERNEL: Final = -1


def make_endpoint(generation: int, slot: int) -> int:
    """Pack a generation and a slot into an endpoint."""
    return (generation << GENERATION_SHIFT) + slot


def endpoint_slot(endpoint: int) -> int:
    """The process-table slot an endpoint names (kernel tasks are negative)."""
    return ((endpoint + NR_TASKS) & (GENERATION_SIZE - 1)) - NR_TASKS


def endpoint_generation(endpoint: int) -> int:
    """The generation an endpoint carries."""
    return (endpoint + NR_TASKS) >> GENERATION_SHIFT
