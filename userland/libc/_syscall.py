"""The system-call trap: sendrec to a server, errno, and running signal handlers.

Every libc call that reaches the system goes through :func:`call`: one ``sendrec``
to the server, then, before anything else, the handlers of the signals PM marked for
this process meanwhile (as a signal frame pushed by the kernel would run them when
the call returns to user mode), each followed by a sigreturn to PM. Signals marked
while the process was running its own code are handled the same way on entry, before
the ``sendrec``, so a call never blocks with a handler waiting behind it. Then the reply's
status: 0 returns the reply, an errno raises :class:`OSError` (Python picks the
subclass: ``InterruptedError`` for EINTR, ``ChildProcessError`` for ECHILD, ...).

A call interrupted by signals whose handlers were all installed with SA_RESTART is
made again instead of failing with EINTR (when the call is restartable).

Kernel IPC errors become POSIX errnos: a server that does not exist (yet) is ENOSYS,
a destination or primitive the process may not use is EPERM.
"""

from __future__ import annotations

import copy
import errno
import inspect
from typing import TYPE_CHECKING, Any, Final

from kernel import errors as kerrors
from kernel.com import PM_PROC_NR
from kernel.errors import KernelError
from servers.pm.protocol import NSIG, PmSigreturn
from userland.libc._context import current, strerror

if TYPE_CHECKING:
    from kernel.message import Message
    from userland.libc._context import LibcProc

_KERNEL_ERRNO: Final = {
    kerrors.EDEADSRCDST: errno.ENOSYS,
    kerrors.ECALLDENIED: errno.EPERM,
    kerrors.ETRAPDENIED: errno.EPERM,
    kerrors.ELOCKED: errno.EDEADLK,
    kerrors.ENOTREADY: errno.EAGAIN,
    kerrors.EBADCALL: errno.ENOSYS,
    kerrors.EBADREQUEST: errno.ENOSYS,
}


def posix_errno(code: int | None) -> int:
    """The POSIX errno for a kernel error code (POSIX codes pass through)."""
    if code is None:
        return errno.EIO
    return _KERNEL_ERRNO.get(code, code if code < 1000 else errno.EIO)


def oserror(code: int, detail: str = "") -> OSError:
    """``OSError(code, strerror)`` (Python turns it into the matching subclass)."""
    text = strerror(code)
    return OSError(code, f"{text}: {detail}" if detail else text)


async def call(dst: int, msg: Message, *, restartable: bool = False) -> Any:  # noqa: ANN401
    """Send ``msg`` to server ``dst``, run pending handlers, and return the reply.

    Blocks until the server answers. Raises OSError with the reply's errno.
    """
    proc = current()
    h = proc.handle
    assert h is not None
    while True:
        # Signals marked while the process ran its own code are handled before it
        # enters the kernel, as they would be on its way back to user mode.
        if sigs := h.take_signals():
            await run_handlers(proc, sigs)
        try:
            reply: Any = await h.sendrec(dst, msg)
        except KernelError as exc:
            code = posix_errno(exc.errno)
            raise oserror(code, str(exc)) from None
        sigs = h.take_signals()
        restart = await run_handlers(proc, sigs) if sigs else False
        status = reply.status
        if not status:
            return reply
        if status == errno.EINTR and restart and restartable:
            msg = copy.copy(msg)
            continue
        raise oserror(status)


async def run_handlers(proc: LibcProc, sigs: int) -> bool:
    """Run the handlers of the signals in ``sigs``, each followed by a sigreturn.

    Returns whether every one of them asked for SA_RESTART. An exception a handler
    raises propagates (after every sigreturn has been made), as it does in Python.
    """
    restart = True
    raised: BaseException | None = None
    for sig in range(1, NSIG):
        if not sigs >> sig & 1:
            continue
        restart = restart and bool(proc.restart >> sig & 1)
        handler = proc.handlers.get(sig)
        try:
            if callable(handler):
                result = handler(sig)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            if raised is None:
                raised = exc
        finally:
            await call(PM_PROC_NR, PmSigreturn(sig))
    if raised is not None:
        raise raised
    return restart
