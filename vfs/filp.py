"""Open-file descriptions (MINIX's ``file.h``, ``filedes.c``).

A :class:`Filp` is what ``open`` creates and ``dup``/``fork`` share: the vnode, the access
mode, the status flags (O_APPEND, O_NONBLOCK) and the position, with a count of the
descriptors pointing at it. Its kernel mutex serialises position updates; it is taken
after the vnode's lock (order proc > vmnt > vnode > filp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from kernel.sync import Mutex
    from vfs.vnode import Vnode

R_BIT: Final = 4
W_BIT: Final = 2
FILP_CLOSED: Final = 0
"""``mode`` of a filp whose character driver died: every call but close fails with EIO."""


@dataclass(slots=True, eq=False)
class Filp:
    """One open-file description."""

    vnode: Vnode
    mode: int
    """Access bits: R_BIT and/or W_BIT."""
    flags: int
    mutex: Mutex
    pos: int = 0
    count: int = 1
    selectors: int = 0
    """Select table entries holding this filp (vfs.select)."""
    select_ops: int = 0
    """Ops some select waits for on this (character device) filp."""
    select_flags: int = 0
    """FSF_* state of this filp's driver select query (vfs.select)."""
    select_dev: int = 0
    """The device a select queried for this filp."""
