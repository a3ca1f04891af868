"""Processes: fork, exec, exit, wait, ids, sessions and groups (as Python's ``os``).

Every call here is a system call to PM. Pure helpers (the wait-status macros) are
plain functions.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import TYPE_CHECKING, Any, Final, NoReturn

import structlog

from kernel.com import PM_PROC_NR
from servers.pm.protocol import (
    ARG_MAX,
    WCONTINUED,
    WNOHANG,
    WUNTRACED,
    PmExec,
    PmExit,
    PmFork,
    PmGetgid,
    PmGetpgid,
    PmGetpid,
    PmGetsid,
    PmGetuid,
    PmSetgid,
    PmSetpgid,
    PmSetsid,
    PmSetuid,
    PmWaitpid,
)
from userland.libc._context import current, enter
from userland.libc._syscall import call, oserror

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from kernel.process import Process

__all__ = [
    "WCONTINUED",
    "WCOREDUMP",
    "WEXITSTATUS",
    "WIFCONTINUED",
    "WIFEXITED",
    "WIFSIGNALED",
    "WIFSTOPPED",
    "WNOHANG",
    "WSTOPSIG",
    "WTERMSIG",
    "WUNTRACED",
    "_exit",
    "execv",
    "execve",
    "fork",
    "getegid",
    "getenv",
    "geteuid",
    "getgid",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getsid",
    "getuid",
    "putenv",
    "setegid",
    "seteuid",
    "setgid",
    "setpgid",
    "setsid",
    "setuid",
    "unsetenv",
    "wait",
    "waitpid",
    "waitstatus_to_exitcode",
]

_log = structlog.get_logger("asynix.libc")
_PM: Final = PM_PROC_NR
_U32: Final = struct.Struct("<I")

PathLike = str | bytes

# -- ids -----------------------------------------------------------------------------------


async def getpid() -> int:
    """The caller's process id."""
    reply = await call(_PM, PmGetpid())
    pid: int = reply.value
    return pid


async def getppid() -> int:
    """The parent's process id (init's is 0, PM)."""
    reply = await call(_PM, PmGetpid())
    ppid: int = reply.value2
    return ppid


async def getuid() -> int:
    """The real user id."""
    return int((await call(_PM, PmGetuid())).value)


async def geteuid() -> int:
    """The effective user id."""
    return int((await call(_PM, PmGetuid())).value2)


async def getgid() -> int:
    """The real group id."""
    return int((await call(_PM, PmGetgid())).value)


async def getegid() -> int:
    """The effective group id."""
    return int((await call(_PM, PmGetgid())).value2)


async def setuid(uid: int) -> None:
    """Set the user id (root: real, effective and saved; others: effective, to real/saved).

    Raises:
        PermissionError: EPERM. OSError: EINVAL for an id out of range.
    """
    await call(_PM, PmSetuid(_id(uid)))


async def seteuid(uid: int) -> None:
    """Set the effective user id."""
    await call(_PM, PmSetuid(_id(uid), True))


async def setgid(gid: int) -> None:
    """Set the group id."""
    await call(_PM, PmSetgid(_id(gid)))


async def setegid(gid: int) -> None:
    """Set the effective group id."""
    await call(_PM, PmSetgid(_id(gid), True))


def _id(value: int) -> int:
    if not isinstance(value, int):
        raise TypeError(f"an id must be an int, not {type(value).__name__}")
    return value


# -- sessions and groups -------------------------------------------------------------------


async def setsid() -> int:
    """Start a new session (and group) led by the caller; returns its id.

    Raises:
        PermissionError: the caller already leads a process group.
    """
    return int((await call(_PM, PmSetsid())).value)


async def setpgid(pid: int, pgrp: int) -> None:
    """Put process ``pid`` (0: the caller) in group ``pgrp`` (0: its own pid)."""
    await call(_PM, PmSetpgid(pid, pgrp))


async def getpgid(pid: int) -> int:
    """The process group of ``pid`` (0: the caller)."""
    return int((await call(_PM, PmGetpgid(pid))).value)


async def getpgrp() -> int:
    """The caller's process group."""
    return await getpgid(0)


async def getsid(pid: int) -> int:
    """The session of ``pid`` (0: the caller)."""
    return int((await call(_PM, PmGetsid(pid))).value)


# -- fork, exit ----------------------------------------------------------------------------


def _status_of(value: object) -> int:
    """Python's convention for a program's result: None is 0, an int is itself."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    return 1


async def run_and_exit(fn: Callable[..., Awaitable[Any]], *args: Any) -> NoReturn:  # noqa: ANN401
    """Run a program's ``fn(*args)`` and exit with its result (libc's crt0 tail).

    An exception escaping ``fn`` is reported and the process exits with status 1,
    as a Python program does; ``SystemExit`` exits with its code.
    """
    try:
        result: object = await fn(*args)
    except SystemExit as exc:
        result = exc.code
        if result is not None and not isinstance(result, int):
            _log.warning("program exited with a message", message=str(result))
            result = 1
    except Exception as exc:
        _log.warning(
            "uncaught exception in a user program",
            program=getattr(fn, "__qualname__", repr(fn)),
            error=repr(exc),
            exc_info=exc,
        )
        result = 1
    await _exit(_status_of(result))


async def _exit(status: int) -> NoReturn:
    """End the process now with exit status ``status & 0xFF``; never returns."""
    if not isinstance(status, int):
        raise TypeError(f"exit status must be an int, not {type(status).__name__}")
    await call(_PM, PmExit(status & 0xFF))
    raise RuntimeError("PM answered an exit")  # pragma: no cover - PM never does


async def fork(child: Callable[[], Awaitable[int | None]]) -> int:
    """Create a child process running ``child()``; returns the child's pid.

    The child runs in a copy-on-write copy of the caller's address space, with the
    caller's signal dispositions and mask, ids, group and session (and, once VFS
    exists, descriptors, cwd and umask); its return value is its exit status.

    Raises:
        BlockingIOError: EAGAIN when the process table is full.
        OSError: ENOMEM when there is no memory for the copy.
    """
    proc = current()
    assert proc.handle is not None
    snapshot = proc.fork_copy()

    async def entry(handle: Process) -> None:
        snapshot.handle = handle
        enter(snapshot)
        await run_and_exit(child)

    proc.handle.set_fork_entry(entry)
    return int((await call(_PM, PmFork())).value)


# -- exec ----------------------------------------------------------------------------------


def _encode(s: PathLike) -> bytes:
    b = os.fsencode(s)
    if b"\0" in b:
        raise ValueError("embedded null byte")
    return b


def _frame(argv: Sequence[bytes], envp: Sequence[bytes]) -> bytes:
    """The relocatable argument frame PM reads (see PmExec)."""
    header = 4 * (len(argv) + len(envp) + 3)
    words = [len(argv)]
    at = header
    for i, s in enumerate((*argv, *envp)):
        if i == len(argv):
            words.append(0)
        words.append(at)
        at += len(s) + 1
    if not envp:
        words.append(0)
    words.append(0)
    strings = b"".join(s + b"\0" for s in (*argv, *envp))
    return b"".join(_U32.pack(w) for w in words) + strings


async def execv(path: PathLike, argv: Sequence[PathLike]) -> NoReturn:
    """Replace the process's image with the program at ``path`` (same pid, same env)."""
    await execve(path, argv, current().environ)


async def execve(path: PathLike, argv: Sequence[PathLike], env: Mapping[str, str]) -> NoReturn:
    """Replace the process's image with the program at ``path``; never returns.

    The path and the argument frame are laid out in the process's heap and PM reads
    them from there. Close-on-exec descriptors are closed; caught signals are reset.

    Raises:
        ValueError: an empty ``argv`` or ``argv[0]`` (as Python's os.execve).
        FileNotFoundError: no such program. OSError: E2BIG, ENOEXEC, EFAULT...
    """
    from userland.libc.memory import free, malloc, poke

    if not argv:
        raise ValueError("execve() arg 2 must not be empty")
    args = [_encode(a) for a in argv]
    if not args[0]:
        raise ValueError("execve() arg 2 first element cannot be empty")
    envp = [_encode(f"{k}={v}") for k, v in env.items()]
    raw_path = _encode(path)
    frame = _frame(args, envp)
    if len(frame) > ARG_MAX:
        raise oserror(errno.E2BIG)
    path_at = await malloc(max(len(raw_path), 1))
    frame_at = await malloc(len(frame))
    try:
        await poke(path_at, raw_path)
        await poke(frame_at, frame)
        await call(_PM, PmExec(path_at, len(raw_path), frame_at, len(frame)))
    finally:
        await free(frame_at)
        await free(path_at)
    raise RuntimeError("PM answered a successful exec")  # pragma: no cover


# -- environment ---------------------------------------------------------------------------


def getenv(key: str, default: str | None = None) -> str | None:
    """The value of environment variable ``key``, or ``default``."""
    return current().environ.get(key, default)


def putenv(key: str, value: str) -> None:
    """Set environment variable ``key`` (passed on by execv)."""
    if not key or "=" in key or "\0" in key + value:
        raise ValueError(f"illegal environment variable name {key!r}")
    current().environ[key] = value


def unsetenv(key: str) -> None:
    """Remove environment variable ``key``."""
    current().environ.pop(key, None)


# -- wait ----------------------------------------------------------------------------------


async def waitpid(pid: int, options: int) -> tuple[int, int]:
    """Wait for a child: ``pid`` > 0 that one, -1 any, 0 the caller's group, < -1 a group.

    Returns ``(pid, status)``; ``(0, 0)`` with WNOHANG when none is ready.

    Raises:
        ChildProcessError: ECHILD (no such child). InterruptedError: EINTR (a caught
            signal, unless its handler was installed with SA_RESTART).
    """
    reply = await call(_PM, PmWaitpid(pid, options), restartable=True)
    return int(reply.value), int(reply.value2)


async def wait() -> tuple[int, int]:
    """Wait for any child: ``waitpid(-1, 0)``."""
    return await waitpid(-1, 0)


def WIFEXITED(status: int) -> bool:
    """Whether the child exited normally."""
    return status & 0x7F == 0


def WEXITSTATUS(status: int) -> int:
    """The exit code of a child that exited."""
    return (status >> 8) & 0xFF


def WIFSIGNALED(status: int) -> bool:
    """Whether the child was killed by a signal."""
    return 0 < status & 0x7F < 0x7F


def WTERMSIG(status: int) -> int:
    """The signal that killed the child."""
    return status & 0x7F


def WIFSTOPPED(status: int) -> bool:
    """Whether the child is stopped (reported with WUNTRACED)."""
    return status & 0xFF == 0x7F


def WSTOPSIG(status: int) -> int:
    """The signal that stopped the child."""
    return (status >> 8) & 0xFF


def WIFCONTINUED(status: int) -> bool:
    """Whether the child was continued (reported with WCONTINUED)."""
    return status == 0xFFFF


def WCOREDUMP(status: int) -> bool:
    """Whether the child dumped core (never, here)."""
    return bool(status & 0x80)


def waitstatus_to_exitcode(status: int) -> int:
    """The exit code, or minus the killing signal (Python's os.waitstatus_to_exitcode).

    Raises:
        ValueError: for a stopped or continued status.
    """
    if WIFEXITED(status):
        return WEXITSTATUS(status)
    if WIFSIGNALED(status):
        return -WTERMSIG(status)
    raise ValueError(f"invalid wait status: {status}")
