"""ps: report the processes PM knows (every one of them, system servers included).

::

    ps [-e | -A] [-f | -l]

Every process in PM's table is listed, by pid (:func:`userland.libc.getprocs`): the
system processes (PM is pid 0; VM, VFS, the root file server, DS, RS follow init)
with their name in brackets, ``[vfs]``, as Linux shows kernel threads; zombies as
``name <defunct>``. ``-e`` and ``-A`` are accepted and change nothing. The default
columns are POSIX's ``PID TTY TIME CMD``::

      PID TTY          TIME CMD
        0 ?        00:00:00 [pm]
        1 ?        00:00:00 init
       12 console  00:00:00 sh
       15 pts/0    00:00:00 sh

TTY is the controlling terminal, as procps shows it: its path under ``/dev``, found
as ``ttyname`` finds it (the character device of ``/dev/pts``, then ``/dev``, whose
``st_rdev`` is the device number PM reports, :func:`userland.libc.ttyname_of`); ``?``
for a process without one (or one whose node is gone). The differences from POSIX:
the default lists every process (as ``ps -e``), not just the caller's terminal's.
TIME is the CPU time the process has used (the kernel's accounting, see
docs/kernel.md), whole seconds as ``[DD-]HH:MM:SS``, as procps prints it; a zombie's
is its time at death. ``-l`` or ``-f`` shows what PM knows instead::

      PID  PPID  PGRP   SID   UID STAT TTY      CMD
        1     0     1     1     0 S    ?        init

UID is the effective user id; STAT is ``R`` (running or ready), ``S`` (blocked in a
call), ``T`` (stopped) or ``Z`` (zombie). CMD is the program's base name, at most 16
bytes of it, not its arguments.
"""

from __future__ import annotations

import errno
from typing import Final

from userland import libc
from userland.bin._common import USAGE, getopts, usage
from userland.libc import stdio
from userland.libc.termios import ttyname_of

_SYNOPSIS: Final = "ps [-e | -A] [-f | -l]"
SHORT_HEADER: Final = f"{'PID':>5} {'TTY':<8} {'TIME':>8} CMD"
_IDS_HEADER: Final = f"{'PID':>5} {'PPID':>5} {'PGRP':>5} {'SID':>5} {'UID':>5}"
LONG_HEADER: Final = f"{_IDS_HEADER} STAT {'TTY':<8} CMD"
_DEV: Final = "/dev/"


def command(p: libc.ProcInfo) -> str:
    """The CMD column: the name, bracketed for a system process, marked if a zombie."""
    if p.system:
        return f"[{p.name}]"
    return f"{p.name} <defunct>" if p.state == "Z" else p.name


async def tty_names(procs: list[libc.ProcInfo]) -> dict[int, str]:
    """The TTY column of each controlling terminal of ``procs``, by device number.

    A terminal's path less ``/dev/`` (``console``, ``pts/0``); ``?`` for no terminal
    (0) or one no ``/dev`` entry names.

    Raises:
        OSError: EINTR.
    """
    names = {0: "?"}
    for dev in {p.tty for p in procs} - names.keys():
        try:
            path = await ttyname_of(dev)
        except OSError as exc:
            if exc.errno == errno.EINTR:
                raise
            path = "?"
        names[dev] = path.removeprefix(_DEV)
    return names


def cpu_time(seconds: float) -> str:
    """The TIME column: CPU ``seconds`` as ``[DD-]HH:MM:SS``, truncated to whole seconds."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock


def short_row(p: libc.ProcInfo, tty: str) -> str:
    """One line of the default format; ``tty`` is its TTY column."""
    return f"{p.pid:>5} {tty:<8} {cpu_time(p.cpu_time):>8} {command(p)}"


def long_row(p: libc.ProcInfo, tty: str) -> str:
    """One line of the ``-l`` format; ``tty`` is its TTY column."""
    ids = f"{p.pid:>5} {p.ppid:>5} {p.pgrp:>5} {p.sid:>5} {p.euid:>5}"
    return f"{ids} {p.state:<4} {tty:<8} {command(p)}"


async def main(argv: list[str]) -> int:
    """List the processes; 0, 1 if PM cannot be asked, 2 on a usage error."""
    parsed = await getopts("ps", argv, "Aefl", _SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if operands:
        return await usage("ps", _SYNOPSIS, f"{operands[0]}: unexpected operand")
    long = any(opt in ("-f", "-l") for opt, _ in opts)
    try:
        procs = await libc.getprocs()
        ttys = await tty_names(procs)
    except OSError as exc:
        await stdio.error("ps", stdio.strerror(exc))
        return 1
    header, row = (LONG_HEADER, long_row) if long else (SHORT_HEADER, short_row)
    lines = [header, *(row(p, ttys[p.tty]) for p in procs)]
    try:
        await stdio.write_all(stdio.STDOUT_FILENO, "\n".join(lines) + "\n")
    except OSError as exc:
        await stdio.error("ps", f"write error: {stdio.strerror(exc)}")
        return 1
    return 0
