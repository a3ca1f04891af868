"""Error codes of the kernel and the exception that carries them.

POSIX errors (EPERM, EFAULT, EINVAL, ...) use Python's :mod:`errno` values. The
MINIX-specific IPC errors have no POSIX number; they get values of their own above
1000 (MINIX's magnitude plus 1000) so they never collide with a POSIX errno. A kernel
call or IPC primitive that fails raises :class:`KernelError`, an :class:`OSError`
whose ``errno`` is one of these codes and whose message names the problem.
"""

from __future__ import annotations

import errno
import os
from typing import Final

ELOCKED: Final = 1101
"""A blocking send or receive would close a cycle of blocked processes."""
EBADCALL: Final = 1102
"""Illegal system call number."""
ECALLDENIED: Final = 1104
"""The caller may not send to that destination, or may not make that kernel call."""
EDEADSRCDST: Final = 1105
"""Source or destination is not alive (dead, never existed, or a stale generation)."""
ENOTREADY: Final = 1106
"""Non-blocking IPC found the partner not ready."""
EBADREQUEST: Final = 1107
"""The destination cannot handle the request."""
ETRAPDENIED: Final = 1110
"""The caller may not use that IPC primitive."""
EDONTREPLY: Final = 1201
"""Pseudo-code inside servers: do not send a reply."""
ERESTART: Final = 1041
"""Pseudo-code inside servers: restart the request (the CPF_TRY soft-fault path)."""

_NAMES: Final = {
    ELOCKED: "ELOCKED",
    EBADCALL: "EBADCALL",
    ECALLDENIED: "ECALLDENIED",
    EDEADSRCDST: "EDEADSRCDST",
    ENOTREADY: "ENOTREADY",
    EBADREQUEST: "EBADREQUEST",
    ETRAPDENIED: "ETRAPDENIED",
    EDONTREPLY: "EDONTREPLY",
    ERESTART: "ERESTART",
}


def errname(code: int) -> str:
    """The symbolic name of an error code (``EDEADSRCDST``, ``EFAULT``...)."""
    return _NAMES.get(code) or errno.errorcode.get(code, str(code))


class KernelError(OSError):
    """A kernel call or IPC primitive failed; ``errno`` says why."""

    def __init__(self, code: int, detail: str = "") -> None:
        text = os.strerror(code) if code < 1000 else errname(code)
        super().__init__(code, f"{text}: {detail}" if detail else text)
