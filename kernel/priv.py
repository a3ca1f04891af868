"""Privileges: what a process may do, as MINIX's ``struct priv`` says.

A privilege structure names the IPC primitives a process may use (its trap mask), the
process slots it may send to (``ipc_to``; ``None`` means any), the kernel calls it may
make (``kcalls``; ``None`` means all), and whether it is a system process (only
system processes may use asynchronous sends or hold a signal manager's duties).
User processes may only ``sendrec``, and only to the servers the boot image lists.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from kernel.message import (
    CALL_NOTIFY,
    CALL_RECEIVE,
    CALL_SEND,
    CALL_SENDA,
    CALL_SENDNB,
    CALL_SENDREC,
)

ALL_TRAPS: Final = (
    (1 << CALL_SEND)
    | (1 << CALL_RECEIVE)
    | (1 << CALL_SENDREC)
    | (1 << CALL_NOTIFY)
    | (1 << CALL_SENDNB)
    | (1 << CALL_SENDA)
)
USER_TRAPS: Final = 1 << CALL_SENDREC


@dataclass(frozen=True, slots=True)
class Priv:
    """The privileges of one process."""

    trap_mask: int = ALL_TRAPS
    ipc_to: frozenset[int] | None = None
    kcalls: frozenset[str] | None = None
    sys_proc: bool = True
    magic_grants: bool = False
    """May grant other processes' memory (CPF_MAGIC): VFS only."""

    def may_send_to(self, slot: int) -> bool:
        """Whether a process with these privileges may send to ``slot``."""
        return self.ipc_to is None or slot in self.ipc_to

    def may_call(self, kcall: str) -> bool:
        """Whether a process with these privileges may make kernel call ``kcall``."""
        return self.kcalls is None or kcall in self.kcalls

    def allowing(self, *slots: int) -> Priv:
        """A copy that may also send to ``slots``."""
        if self.ipc_to is None:
            return self
        return replace(self, ipc_to=self.ipc_to | frozenset(slots))


SYSTEM_PRIV: Final = Priv()
"""Servers: every primitive, every destination, every kernel call."""

USER_PRIV: Final = Priv(
    trap_mask=USER_TRAPS, ipc_to=frozenset(), kcalls=frozenset(), sys_proc=False
)
"""User processes: sendrec only, to no one until the boot image adds the servers."""
