"""PM's wire protocol: the system calls it serves, its messages to VFS, signal constants.

Callers: user processes through :mod:`userland.libc` (every call below is a
``sendrec`` to PM_PROC_NR answered by one :class:`PmReply`, except a successful exec
and an exit, which are never answered); VFS, which answers PM's notices with
:class:`VfsPmReply`. Messages carry scalars only: a path or an argument vector crosses
as a virtual address and a length in the caller's address space, which PM reads with
a kernel copy.

Every reply's ``status`` is 0 or a POSIX errno (Python's :mod:`errno` values);
``value`` and ``value2`` carry the results each request names.

Numbering follows Linux (and Python's :mod:`signal` and :mod:`os` on Linux) so that
user programs read naturally: signal numbers, ``SIG_BLOCK``..., ``WNOHANG``..., the
``SA_*`` flags and the wait-status encoding. Signals 1..31 exist (``NSIG`` is 32);
there are no real-time signals.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from kernel.message import Message

# -- signals -------------------------------------------------------------------------------

SIGHUP: Final = 1
SIGINT: Final = 2
SIGQUIT: Final = 3
SIGILL: Final = 4
SIGTRAP: Final = 5
SIGABRT: Final = 6
SIGBUS: Final = 7
SIGFPE: Final = 8
SIGKILL: Final = 9
SIGUSR1: Final = 10
SIGSEGV: Final = 11
SIGUSR2: Final = 12
SIGPIPE: Final = 13
SIGALRM: Final = 14
SIGTERM: Final = 15
SIGSTKFLT: Final = 16
SIGCHLD: Final = 17
SIGCONT: Final = 18
SIGSTOP: Final = 19
SIGTSTP: Final = 20
SIGTTIN: Final = 21
SIGTTOU: Final = 22
SIGURG: Final = 23
SIGXCPU: Final = 24
SIGXFSZ: Final = 25
SIGVTALRM: Final = 26
SIGPROF: Final = 27
SIGWINCH: Final = 28
SIGIO: Final = 29
SIGPWR: Final = 30
SIGSYS: Final = 31
NSIG: Final = 32
"""One more than the highest signal number."""

SIG_NAMES: Final[dict[int, str]] = {
    SIGHUP: "SIGHUP",
    SIGINT: "SIGINT",
    SIGQUIT: "SIGQUIT",
    SIGILL: "SIGILL",
    SIGTRAP: "SIGTRAP",
    SIGABRT: "SIGABRT",
    SIGBUS: "SIGBUS",
    SIGFPE: "SIGFPE",
    SIGKILL: "SIGKILL",
    SIGUSR1: "SIGUSR1",
    SIGSEGV: "SIGSEGV",
    SIGUSR2: "SIGUSR2",
    SIGPIPE: "SIGPIPE",
    SIGALRM: "SIGALRM",
    SIGTERM: "SIGTERM",
    SIGSTKFLT: "SIGSTKFLT",
    SIGCHLD: "SIGCHLD",
    SIGCONT: "SIGCONT",
    SIGSTOP: "SIGSTOP",
    SIGTSTP: "SIGTSTP",
    SIGTTIN: "SIGTTIN",
    SIGTTOU: "SIGTTOU",
    SIGURG: "SIGURG",
    SIGXCPU: "SIGXCPU",
    SIGXFSZ: "SIGXFSZ",
    SIGVTALRM: "SIGVTALRM",
    SIGPROF: "SIGPROF",
    SIGWINCH: "SIGWINCH",
    SIGIO: "SIGIO",
    SIGPWR: "SIGPWR",
    SIGSYS: "SIGSYS",
}
"""Signal number to name (``SIGINT``...)."""

SIG_BLOCK: Final = 0
SIG_UNBLOCK: Final = 1
SIG_SETMASK: Final = 2

SA_NOCLDSTOP: Final = 0x0000_0001
"""SIGCHLD: do not report children that stop or continue."""
SA_RESTART: Final = 0x1000_0000
"""Restart an interrupted call instead of failing it with EINTR (libc does the restart)."""
SA_NODEFER: Final = 0x4000_0000
"""Do not block the signal while its handler runs."""
SA_RESETHAND: Final = 0x8000_0000
"""Reset the disposition to SIG_DFL when the signal is delivered."""
SA_FLAGS: Final = SA_NOCLDSTOP | SA_RESTART | SA_NODEFER | SA_RESETHAND

# Dispositions as they cross the wire (libc keeps the handler callables itself).
DISP_DFL: Final = 0
DISP_IGN: Final = 1
DISP_CATCH: Final = 2
DISP_QUERY: Final = -1
"""PmSigaction with this ``handler`` only reads the disposition."""

UNBLOCKABLE: Final = (1 << SIGKILL) | (1 << SIGSTOP)
"""Signals that can be neither caught, ignored nor blocked."""
FULL_MASK: Final = ((1 << NSIG) - 2) & ~UNBLOCKABLE
"""Every signal that may be blocked."""

# -- wait ----------------------------------------------------------------------------------

WNOHANG: Final = 1
WUNTRACED: Final = 2
WCONTINUED: Final = 8
WAIT_OPTIONS: Final = WNOHANG | WUNTRACED | WCONTINUED


def w_exitcode(code: int) -> int:
    """The wait status of a process that exited with ``code``."""
    return (code & 0xFF) << 8


def w_termsig(signo: int) -> int:
    """The wait status of a process killed by ``signo``."""
    return signo & 0x7F


def w_stopcode(signo: int) -> int:
    """The wait status of a process stopped by ``signo``."""
    return (signo << 8) | 0x7F


W_CONTINUED: Final = 0xFFFF
"""The wait status of a process continued by SIGCONT."""

# -- identities and limits -----------------------------------------------------------------

PM_PID: Final = 0
INIT_PID: Final = 1
MAX_ID: Final = 0xFFFF
"""The largest uid or gid (MINIX's uid_t is 16 bits)."""
ARG_MAX: Final = 64 * 1024
"""The largest argument-and-environment frame exec accepts (E2BIG beyond)."""
PATH_MAX: Final = 1024

HOST_IRQ: Final = 0
"""The interrupt line of PM's host mailbox (see :mod:`servers.pm.host`)."""

# -- requests from user processes ------------------------------------------------------------


@dataclass(slots=True)
class PmReply(Message):
    """PM's answer to every request: ``status`` 0 or an errno, then the results."""

    status: int = 0
    value: int = 0
    value2: int = 0


@dataclass(slots=True)
class PmSigactionReply(Message):
    """The answer to :class:`PmSigaction`: the old disposition, mask and flags."""

    status: int = 0
    handler: int = 0
    mask: int = 0
    flags: int = 0


@dataclass(slots=True)
class PmFork(Message):
    """fork: the child runs the entry the caller left with ``set_fork_entry``.

    Reply (to the parent only): value = the child's pid. EAGAIN when the process table
    is full, ENOMEM when VM cannot copy the address space, EINVAL without an entry.
    """


@dataclass(slots=True)
class PmExit(Message):
    """_exit(status): never answered."""

    status: int


@dataclass(slots=True)
class PmWaitpid(Message):
    """waitpid(pid, options): value = the child's pid (0 with WNOHANG), value2 = status."""

    pid: int
    options: int


@dataclass(slots=True)
class PmExec(Message):
    """execve: the path and the argument frame in the caller's memory.

    The frame (built by libc) is relocatable: ``argc`` (u32), ``argc`` u32 offsets of
    the argument strings, a 0, u32 offsets of the environment strings, a 0, then the
    NUL-terminated strings; offsets count from the frame's start. Never answered on
    success: the caller's image is replaced.
    """

    path: int
    path_len: int
    frame: int
    frame_len: int


@dataclass(slots=True)
class PmGetpid(Message):
    """value = pid, value2 = parent's pid."""


@dataclass(slots=True)
class PmGetuid(Message):
    """value = real uid, value2 = effective uid."""


@dataclass(slots=True)
class PmGetepinfo(Message):
    """Who is ``endpoint`` (MINIX's getepinfo, for servers): value = pid, value2 = euid.

    ESRCH when PM knows no live process there.
    """

    endpoint: int


@dataclass(slots=True)
class PmGetgid(Message):
    """value = real gid, value2 = effective gid."""


@dataclass(slots=True)
class PmSetuid(Message):
    """setuid (``effective`` False) or seteuid (True)."""

    uid: int
    effective: bool = False


@dataclass(slots=True)
class PmSetgid(Message):
    """setgid (``effective`` False) or setegid (True)."""

    gid: int
    effective: bool = False


@dataclass(slots=True)
class PmKill(Message):
    """kill(pid, sig): pid > 0 one process, 0 the caller's group, -1 all, < -1 a group."""

    pid: int
    sig: int


@dataclass(slots=True)
class PmSigaction(Message):
    """Set the disposition of ``sig`` (DISP_DFL, DISP_IGN, DISP_CATCH; DISP_QUERY reads).

    Reply: :class:`PmSigactionReply` with the old disposition.
    """

    sig: int
    handler: int
    mask: int = 0
    flags: int = 0


@dataclass(slots=True)
class PmSigprocmask(Message):
    """sigprocmask(how, mask): value = the old mask."""

    how: int
    mask: int


@dataclass(slots=True)
class PmSigpending(Message):
    """value = the blocked signals that are pending."""


@dataclass(slots=True)
class PmSigsuspend(Message):
    """Wait for a signal with ``mask`` as the mask; always answered EINTR."""

    mask: int


@dataclass(slots=True)
class PmSigreturn(Message):
    """libc ran the handler of ``sig``: restore the mask the delivery saved."""

    sig: int


@dataclass(slots=True)
class PmPause(Message):
    """Wait for a signal; always answered EINTR."""


@dataclass(slots=True)
class PmAlarm(Message):
    """alarm(seconds): value = the seconds left on the previous alarm (0: none)."""

    seconds: int


@dataclass(slots=True)
class PmSetsid(Message):
    """setsid: value = the new session id."""


@dataclass(slots=True)
class PmSetpgid(Message):
    """setpgid(pid, pgid); 0 for either means the caller / the target's pid."""

    pid: int
    pgid: int


@dataclass(slots=True)
class PmGetpgid(Message):
    """value = the process group of ``pid`` (0: the caller)."""

    pid: int


@dataclass(slots=True)
class PmGetsid(Message):
    """value = the session of ``pid`` (0: the caller)."""

    pid: int


# -- PM -> VFS notices (MINIX's VFS_PM_*) ----------------------------------------------------
#
# PM sends these with ``senda`` (it never blocks on VFS) and holds the process until
# VFS answers with one VfsPmReply naming the same endpoint and call. Only sent when
# VFS is part of the boot image.


@dataclass(slots=True)
class PmVfsFork(Message):
    """``child`` (pid ``child_pid``) is a fork of ``parent``: copy fds, cwd, umask."""

    parent: int
    child: int
    child_pid: int


@dataclass(slots=True)
class PmVfsExit(Message):
    """``ep`` is gone: close its files."""

    ep: int


@dataclass(slots=True)
class PmVfsExec(Message):
    """``ep`` is replacing its image: close its close-on-exec descriptors."""

    ep: int


@dataclass(slots=True)
class PmVfsExecRead(Message):
    """``ep`` wants to exec the file at ``path`` (``path_len`` bytes in its memory).

    VFS resolves the path as ``ep`` would (its root, cwd and effective ids), checks
    that it is a regular file ``ep`` may execute (EACCES otherwise, ENOENT...), and
    copies the file's contents into PM's ``grant`` (``size`` bytes). The reply's
    ``value`` is the file's length (ENOMEM when it exceeds ``size``). Nothing of
    ``ep``'s changes: the point of no return is the :class:`PmVfsExec` that follows.
    """

    ep: int
    path: int
    path_len: int
    grant: int
    size: int


@dataclass(slots=True)
class PmVfsSetids(Message):
    """``ep``'s real and effective uid and gid changed."""

    ep: int
    uid: int
    euid: int
    gid: int
    egid: int


@dataclass(slots=True)
class PmVfsSetsid(Message):
    """``ep`` started a new session: it has no controlling terminal any more."""

    ep: int


@dataclass(slots=True)
class PmVfsUnpause(Message):
    """``ep`` has a signal: if it waits in VFS, end that call with EINTR.

    VFS runs this as postponed work in a worker bound to ``ep`` (never while another
    call of ``ep`` is in progress), then answers. PM has stopped ``ep`` meanwhile, so
    it cannot return from the interrupted call before PM has marked the signal for
    its handler.
    """

    ep: int


@dataclass(slots=True)
class VfsPmReply(Message):
    """VFS's answer to the PM notice ``call`` (its message type name) about ``ep``."""

    ep: int
    call: str
    status: int = 0
    value: int = 0


@dataclass(slots=True)
class PmTimes(Message):
    """times(): the caller's CPU time and its waited-for children's.

    Reply :class:`PmTimesReply`. CPU time is all reported as user time (see
    docs/processes.md): the kernel charges a process for the whole time it holds the
    CPU, its kernel entries included.
    """


@dataclass(slots=True)
class PmTimesReply(Message):
    """The answer to :class:`PmTimes`, in seconds (floats).

    ``utime``: the caller's CPU time; ``cutime``: the sum of the CPU times (their own
    plus their ``cutime``) of the children it has waited for; ``uptime``: the kernel
    clock. The system times (``tms_stime``, ``tms_cstime``) are always 0.
    """

    status: int = 0
    utime: float = 0.0
    cutime: float = 0.0
    uptime: float = 0.0


# -- process information (MINIX's getsysinfo(PM, SI_PROC_TAB), one entry per call) ------------

PROC_NAME_LEN: Final = 16
"""The bytes of a process name a :data:`PROCINFO` entry holds (MINIX's PROC_NAME_LEN)."""
PROCINFO: Final = struct.Struct(f"<7i2B2x{PROC_NAME_LEN}sQ")
"""One process as :class:`PmProcinfo` writes it: pid, ppid, pgrp, sid, uid, euid, tty
(i32 each; tty is the device number of its controlling terminal, 0 for none), the
state (an ASCII letter: PI_RUNNING...), flags (PI_SYSTEM), two bytes of padding, the
name (UTF-8, truncated to PROC_NAME_LEN bytes, NUL-padded), then the CPU time it has
used (u64, microseconds; a zombie's is its time at death)."""
PI_RUNNING: Final = ord("R")
"""Running or ready to run."""
PI_SLEEPING: Final = ord("S")
"""Blocked: in waitpid, pause or sigsuspend, or in a call to a server."""
PI_STOPPED: Final = ord("T")
"""Stopped by a job-control signal."""
PI_ZOMBIE: Final = ord("Z")
"""Exited, not yet reaped by its parent."""
PI_SYSTEM: Final = 0x01
"""The process is a system process (PM, VM, VFS...), not a user process."""


@dataclass(slots=True)
class PmProcinfo(Message):
    """The process with the lowest pid above ``after`` (pass -1 to start at PM, pid 0).

    PM writes that process's :data:`PROCINFO` entry at ``buf`` in the caller's memory
    (``buf_len`` bytes, at least ``PROCINFO.size``). Reply: value = its pid, so the
    caller walks the whole table by passing each answer back as ``after``. ESRCH when
    no process has a higher pid; EINVAL when ``buf_len`` is too small; EFAULT for a
    bad buffer. Zombies and system processes are included; an entry's tty is the
    controlling terminal its session's leader acquired (TTYQ_ACQUIRE's ``dev``), until
    PM hangs the session up.
    """

    after: int
    buf: int
    buf_len: int


# -- terminal job control (from terminal drivers, system processes only; asynchronous) --------

TTYQ_ACQUIRE: Final = 0
"""``ep``, a session leader, made the terminal (device number ``dev``) its controlling
terminal: answer its session and group (the terminal's first foreground group)."""
TTYQ_READ: Final = 1
"""``ep`` reads the terminal: SIGTTIN if it is in the background (EIO if it cannot stop)."""
TTYQ_CHANGE: Final = 2
"""``ep`` writes (TOSTOP) or changes the settings: SIGTTOU if in the background."""
TTYQ_GETPGRP: Final = 3
"""``ep`` asks the foreground group: ENOTTY unless the terminal is its controlling one."""
TTYQ_SETPGRP: Final = 4
"""``ep`` makes ``pgrp`` the foreground group: TTYQ_CHANGE's rule, then ENOTTY, EINVAL,
EPERM as POSIX's tcsetpgrp says."""
TTYQ_OWNER: Final = 5
"""``ep`` opened a terminal that gets a node of its own (a pty): answer its effective
uid and gid, the node's owner."""


@dataclass(slots=True)
class PmTtyQuery(Message):
    """A terminal driver asks PM about ``ep``'s use of a terminal (one of TTYQ_*).

    ``sid`` and ``fg`` are the terminal's session and foreground group (0: none),
    ``pgrp`` the argument of TTYQ_SETPGRP, ``dev`` the terminal's device number (PM
    keeps TTYQ_ACQUIRE's for ``ps``, :class:`PmProcinfo`). PM answers with
    :class:`PmTtyAnswer` by ``senda``, echoing ``tag``; when PM stopped ``ep`` with
    SIGTTIN/SIGTTOU, the answer is EAGAIN ("ask again") and comes only once ``ep`` is
    continued.
    """

    op: int
    ep: int
    sid: int
    fg: int
    pgrp: int
    tag: int
    dev: int = 0


@dataclass(slots=True)
class PmTtyAnswer(Message):
    """PM's answer to a :class:`PmTtyQuery`: 0 or an errno, and what the question asked for.

    TTYQ_ACQUIRE's session and group are ``sid`` and ``pgrp``; TTYQ_OWNER's ``uid``
    and ``gid``.
    """

    tag: int
    status: int
    sid: int = 0
    pgrp: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class PmTtySignal(Message):
    """A terminal driver raises ``sig`` on process group ``pgrp`` (^C, a resize...).

    With ``pid`` set, ``sig`` goes to that one process instead (a hang-up's SIGHUP to
    the session leader). Never answered; accepted only from system processes.
    """

    pgrp: int
    sig: int
    pid: int = 0


@dataclass(slots=True)
class PmTtyHangup(Message):
    """PM to a terminal driver: the leader of session ``sid``, which controls it, exited.

    The driver sends SIGHUP, then SIGCONT, to the foreground group of the session's
    terminal (as :class:`PmTtySignal`) and the terminal stops being the session's; a
    driver with several terminals finds it by ``sid`` (a session has at most one).
    Never answered.
    """

    sid: int
