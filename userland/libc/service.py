"""Service control: the libc side of MINIX's ``service`` command (a call to RS).

``await service("restart", "hello")`` asks RS to act on one service of its table.
Actions: ``up``, ``down``, ``restart``, ``refresh``, ``update`` and ``lookup``
(:mod:`servers.rs.protocol`). RS lets only system processes change services (EPERM
otherwise: RS has no way yet to learn a user process's uid from PM); ``lookup`` is
open to everyone.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from kernel.com import RS_PROC_NR
from servers.rs.protocol import RsDown, RsLookup, RsRefresh, RsRestart, RsUp, RsUpdate
from userland.libc._syscall import call, oserror

if TYPE_CHECKING:
    from kernel.message import Message

_ACTIONS: Final[dict[str, type[RsUp | RsDown | RsRestart | RsRefresh | RsUpdate | RsLookup]]] = {
    "up": RsUp,
    "down": RsDown,
    "restart": RsRestart,
    "refresh": RsRefresh,
    "update": RsUpdate,
    "lookup": RsLookup,
}


async def service(action: str, label: str) -> int:
    """Ask RS to ``action`` the service ``label``; returns its (new) endpoint, 0 for down.

    Raises:
        OSError: EINVAL for an unknown action; ESRCH for a service RS does not know or
            that is not running; EBUSY when it is already running or starting; EPERM
            when the caller may not control services; the errno of a failed start.
    """
    kind = _ACTIONS.get(action)
    if kind is None:
        raise oserror(errno.EINVAL, f"unknown service action {action!r}")
    msg: Message = kind(label)
    reply = await call(RS_PROC_NR, msg)
    value: int = reply.value
    return value


__all__ = ["service"]
