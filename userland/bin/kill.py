"""kill: send a signal to processes or process groups.

::

    kill [-s SIG | -SIG | -N] pid...     (default SIGTERM; SIG with or without "SIG")
    kill -l [status]                     (signal names; or the name for a status)

A pid operand below -1 (after ``--`` or a signal option, as POSIX says) names the
process group ``-pid``; 0 is the caller's group; -1 every process the caller may
signal. Signal 0 only checks that the processes exist. ``kill -l`` prints the names
without ``SIG``, one line, in signal-number order; ``kill -l STATUS`` names the
signal of an exit status above 128 (or of a signal number). Each pid that cannot
be signalled is reported (``kill: 99: No such process``); the status is then 1.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import usage
from userland.libc import stdio

_SYNOPSIS: Final = "kill [-s signal | -signal] pid... | kill -l [exit_status]"
SIGNALS: Final[dict[str, int]] = {
    name[3:]: getattr(libc, name)
    for name in libc.__all__
    if name.startswith("SIG") and not name.startswith("SIG_")
}
"""Signal numbers by name without ``SIG`` (``INT``: 2...)."""
_NAMES: Final = {num: name for name, num in SIGNALS.items()}


def signal_number(text: str) -> int | None:
    """``TERM``, ``SIGTERM``, ``term`` or ``15`` as a signal number (0 allowed), or None."""
    if text.isdigit():
        num = int(text)
        return num if num == 0 or num in _NAMES else None
    name = text.upper()
    name = name.removeprefix("SIG")
    return SIGNALS.get(name)


async def _list(args: list[str]) -> int:
    if not args:
        await stdio.puts(" ".join(_NAMES[n] for n in sorted(_NAMES)))
        return 0
    status = 0
    for arg in args:
        num = int(arg) if arg.isdigit() else None
        if num is not None and num > 128:
            num -= 128
        if num is None or num not in _NAMES:
            await stdio.error("kill", f"{arg}: invalid signal")
            status = 1
            continue
        await stdio.puts(_NAMES[num])
    return status


def parse_options(args: list[str]) -> tuple[int, list[str]]:
    """The signal the options name (SIGTERM by default) and the operands after them.

    Raises:
        ValueError: a bad signal or a ``-s`` without one (the message says which).
    """
    sig = libc.SIGTERM
    if args and args[0] == "-s":
        if len(args) < 2:
            raise ValueError("option requires an argument -- s")
        text, args = args[1], args[2:]
    elif args and args[0].startswith("-") and args[0] != "--" and len(args[0]) > 1:
        text, args = args[0][1:], args[1:]
    else:
        text = None
    if text is not None:
        found = signal_number(text)
        if found is None:
            raise ValueError(f"{text}: invalid signal")
        sig = found
    if args and args[0] == "--":
        args = args[1:]
    return sig, args


async def main(argv: list[str]) -> int:
    """Signal every pid operand; 0, 1 if any failed, 2 on a usage error."""
    args = argv[1:]
    if args and args[0] == "-l":
        return await _list(args[1:])
    try:
        sig, args = parse_options(args)
    except ValueError as exc:
        return await usage("kill", _SYNOPSIS, str(exc))
    if not args:
        return await usage("kill", _SYNOPSIS, "no process id")
    status = 0
    for arg in args:
        try:
            pid = int(arg, 10)
        except ValueError:
            await stdio.error("kill", f"{arg}: arguments must be process or job IDs")
            status = 1
            continue
        try:
            await libc.kill(pid, sig)
        except OSError as exc:
            await stdio.error("kill", f"{arg}: {stdio.strerror(exc)}")
            status = 1
    return status
