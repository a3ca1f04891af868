"""Signals: handlers, masks, kill, alarm and pause (as Python's ``signal`` and ``os``).

PM keeps dispositions, masks and pending sets; libc keeps the handler callables. A
handler is any callable taking the signal number (a coroutine function is awaited,
so a handler may make system calls). It runs when the process next returns from a
system call, then libc tells PM (sigreturn) to restore the mask.

Differences from Python, on purpose: a call interrupted by a caught signal fails
with ``InterruptedError`` (EINTR) unless the handler was installed with SA_RESTART
(:func:`siginterrupt` ``False``), as in C; Python's PEP 475 would retry. pause and
sigsuspend return None once a handler has run.
"""

from __future__ import annotations

import errno
import signal as _pysignal
from typing import TYPE_CHECKING, Any, Final

from kernel.com import PM_PROC_NR
from servers.pm.protocol import (
    DISP_CATCH,
    DISP_DFL,
    DISP_IGN,
    DISP_QUERY,
    NSIG,
    SA_NOCLDSTOP,
    SA_NODEFER,
    SA_RESETHAND,
    SA_RESTART,
    SIG_BLOCK,
    SIG_NAMES,
    SIG_SETMASK,
    SIG_UNBLOCK,
    SIGABRT,
    SIGALRM,
    SIGBUS,
    SIGCHLD,
    SIGCONT,
    SIGFPE,
    SIGHUP,
    SIGILL,
    SIGINT,
    SIGIO,
    SIGKILL,
    SIGPIPE,
    SIGPROF,
    SIGPWR,
    SIGQUIT,
    SIGSEGV,
    SIGSTKFLT,
    SIGSTOP,
    SIGSYS,
    SIGTERM,
    SIGTRAP,
    SIGTSTP,
    SIGTTIN,
    SIGTTOU,
    SIGURG,
    SIGUSR1,
    SIGUSR2,
    SIGVTALRM,
    SIGWINCH,
    SIGXCPU,
    SIGXFSZ,
    PmAlarm,
    PmKill,
    PmPause,
    PmSigaction,
    PmSigpending,
    PmSigprocmask,
    PmSigsuspend,
)
from userland.libc._context import current
from userland.libc._syscall import call, oserror

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "NSIG",
    "SA_NOCLDSTOP",
    "SA_NODEFER",
    "SA_RESETHAND",
    "SA_RESTART",
    "SIGABRT",
    "SIGALRM",
    "SIGBUS",
    "SIGCHLD",
    "SIGCONT",
    "SIGFPE",
    "SIGHUP",
    "SIGILL",
    "SIGINT",
    "SIGIO",
    "SIGKILL",
    "SIGPIPE",
    "SIGPROF",
    "SIGPWR",
    "SIGQUIT",
    "SIGSEGV",
    "SIGSTKFLT",
    "SIGSTOP",
    "SIGSYS",
    "SIGTERM",
    "SIGTRAP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGUSR1",
    "SIGUSR2",
    "SIGVTALRM",
    "SIGWINCH",
    "SIGXCPU",
    "SIGXFSZ",
    "SIG_BLOCK",
    "SIG_DFL",
    "SIG_IGN",
    "SIG_SETMASK",
    "SIG_UNBLOCK",
    "alarm",
    "getsignal",
    "kill",
    "killpg",
    "pause",
    "pthread_sigmask",
    "raise_signal",
    "sigaction",
    "siginterrupt",
    "signal",
    "sigpending",
    "sigprocmask",
    "sigsuspend",
    "strsignal",
    "valid_signals",
]

SIG_DFL: Final = _pysignal.SIG_DFL
"""The default action (Python's own ``signal.SIG_DFL`` object)."""
SIG_IGN: Final = _pysignal.SIG_IGN
"""Ignore the signal (Python's own ``signal.SIG_IGN`` object)."""

_PM: Final = PM_PROC_NR
Handler = Any
"""SIG_DFL, SIG_IGN, or a callable taking the signal number."""


def _mask(signals: Iterable[int]) -> int:
    mask = 0
    for sig in signals:
        if not isinstance(sig, int) or not 0 < sig < NSIG:
            raise ValueError(f"signal number {sig!r} out of range [1; {NSIG - 1}]")
        mask |= 1 << sig
    return mask


def _set(mask: int) -> set[int]:
    return {sig for sig in range(1, NSIG) if mask >> sig & 1}


def _disposition(handler: Handler) -> int:
    if callable(handler):
        return DISP_CATCH
    if isinstance(handler, int) and handler == SIG_DFL:
        return DISP_DFL
    if isinstance(handler, int) and handler == SIG_IGN:
        return DISP_IGN
    raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object")


def _handler(disp: int, sig: int) -> Handler:
    if disp == DISP_CATCH:
        return current().handlers.get(sig, SIG_DFL)
    return SIG_IGN if disp == DISP_IGN else SIG_DFL


async def sigaction(
    signalnum: int, handler: Handler | None = None, mask: Iterable[int] = (), flags: int = 0
) -> tuple[Handler, set[int], int]:
    """Set the action for ``signalnum`` (``handler`` None only reads it).

    ``mask`` lists the signals blocked while the handler runs; ``flags`` are SA_*
    (SA_RESTART, SA_NODEFER, SA_RESETHAND, SA_NOCLDSTOP). Returns the old
    ``(handler, mask, flags)``.

    Raises:
        OSError: EINVAL for a bad signal, SIGKILL/SIGSTOP, or bad flags.
        TypeError: ``handler`` is neither SIG_DFL, SIG_IGN nor callable.
    """
    proc = current()
    disp = DISP_QUERY if handler is None else _disposition(handler)
    reply = await call(_PM, PmSigaction(signalnum, disp, _mask(mask), flags))
    old = (_handler(reply.handler, signalnum), _set(reply.mask), int(reply.flags))
    if handler is not None:
        if disp == DISP_CATCH:
            proc.handlers[signalnum] = handler
        else:
            proc.handlers.pop(signalnum, None)
        if flags & SA_RESTART:
            proc.restart |= 1 << signalnum
        else:
            proc.restart &= ~(1 << signalnum)
    return old


async def signal(signalnum: int, handler: Handler) -> Handler:
    """Set the handler for ``signalnum``; returns the old one (Python's signal.signal).

    Calls the handler interrupts fail with EINTR (see :func:`siginterrupt`).
    """
    if handler is None:
        raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable")
    return (await sigaction(signalnum, handler))[0]


async def getsignal(signalnum: int) -> Handler:
    """The current handler of ``signalnum``: SIG_DFL, SIG_IGN or the callable."""
    return (await sigaction(signalnum))[0]


async def siginterrupt(signalnum: int, flag: bool) -> None:
    """``flag`` False: calls this signal interrupts are restarted (SA_RESTART)."""
    handler, mask, flags = await sigaction(signalnum)
    flags = flags & ~SA_RESTART if flag else flags | SA_RESTART
    await sigaction(signalnum, handler, mask, flags)


async def sigprocmask(how: int, mask: Iterable[int]) -> set[int]:
    """Block (SIG_BLOCK), unblock (SIG_UNBLOCK) or set (SIG_SETMASK) signals.

    Returns the old mask. SIGKILL and SIGSTOP cannot be blocked (silently).
    """
    return _set(int((await call(_PM, PmSigprocmask(how, _mask(mask)))).value))


pthread_sigmask = sigprocmask


async def sigpending() -> set[int]:
    """The signals that are pending because they are blocked."""
    return _set(int((await call(_PM, PmSigpending())).value))


async def sigsuspend(mask: Iterable[int]) -> None:
    """Wait with ``mask`` as the signal mask until a handler has run; the mask returns."""
    try:
        await call(_PM, PmSigsuspend(_mask(mask)))
    except InterruptedError:
        return


async def pause() -> None:
    """Wait until a signal handler has run (Python's signal.pause)."""
    try:
        await call(_PM, PmPause())
    except InterruptedError:
        return


async def alarm(seconds: int) -> int:
    """SIGALRM in ``seconds`` (0 cancels); returns the seconds left on the previous one."""
    if not isinstance(seconds, int):
        raise TypeError(f"alarm() seconds must be an int, not {type(seconds).__name__}")
    return int((await call(_PM, PmAlarm(seconds))).value)


async def kill(pid: int, signalnum: int) -> None:
    """Send ``signalnum`` to ``pid`` (> 0), the caller's group (0), all (-1), a group (< -1).

    Raises:
        ProcessLookupError: ESRCH. PermissionError: EPERM. OSError: EINVAL.
    """
    await call(_PM, PmKill(pid, signalnum))


async def killpg(pgrp: int, signalnum: int) -> None:
    """Send ``signalnum`` to process group ``pgrp`` (0: the caller's)."""
    if pgrp < 0:
        raise oserror(errno.EINVAL)
    await kill(-pgrp, signalnum)


async def raise_signal(signalnum: int) -> None:
    """Send ``signalnum`` to the caller itself."""
    from userland.libc.process import getpid

    await kill(await getpid(), signalnum)


def strsignal(signalnum: int) -> str | None:
    """The name of ``signalnum`` (``SIGINT``...), None if there is no such signal."""
    return SIG_NAMES.get(signalnum)


def valid_signals() -> set[int]:
    """Every signal number."""
    return set(range(1, NSIG))
