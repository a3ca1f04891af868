"""What the file and text commands share: options, diagnostics, inputs, modes, names.

Not a command (it has no ``main``, so :func:`userland.programs.register_commands`
skips it). Every helper here uses only libc, like the commands themselves.

- :func:`getopts` parses short options the way POSIX ``getopt`` does (Python's
  :mod:`getopt`, which is pure computation); :func:`usage` prints a usage error and
  gives status 2.
- :func:`fail` prints ``cmd: operand: strerror`` for an :class:`OSError`.
- :func:`open_input` / :func:`close_input` / :func:`slurp` / :func:`slurp_all` handle
  "a file operand or ``-`` for standard input", the loop every filter runs;
  :func:`lines_of` cuts data into lines; :func:`print_each` and :func:`legacy_count`
  serve ``head`` and ``tail``.
- :func:`placements` says where each source of ``cp``, ``mv`` and ``ln`` goes (into
  the last operand when it is a directory).
- :func:`mode_string` formats ``st_mode`` as ``ls -l`` does; :func:`apply_mode`
  applies an octal or symbolic mode (``chmod``, ``mkdir -m``); :func:`id_names` reads
  ``/etc/passwd`` or ``/etc/group``; :func:`wallclock` turns a file time into the
  machine's calendar time.
"""

from __future__ import annotations

import getopt
import posixpath
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from userland import libc
from userland.libc import stdio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

USAGE: Final = 2
"""Exit status of a usage error (bad option, missing operand)."""

Options = list[tuple[str, str]]


async def usage(prog: str, synopsis: str, message: str = "") -> int:
    """Print ``prog: message`` (if any) and ``usage: synopsis`` on stderr; return 2."""
    text = f"{prog}: {message}\n" if message else ""
    try:
        await stdio.write_all(stdio.STDERR_FILENO, f"{text}usage: {synopsis}\n")
    except OSError:
        pass
    return USAGE


async def getopts(
    prog: str, argv: list[str], optstring: str, synopsis: str
) -> tuple[Options, list[str]] | None:
    """``argv[1:]`` split into options and operands, or None after a usage error."""
    try:
        return getopt.getopt(argv[1:], optstring)
    except getopt.GetoptError as exc:
        await usage(prog, synopsis, exc.msg)
        return None


async def fail(prog: str, operand: str, exc: OSError) -> None:
    """Print ``prog: operand: strerror`` on standard error."""
    await stdio.error(prog, f"{operand}: {stdio.strerror(exc)}")


async def open_input(prog: str, name: str, *, quiet: bool = False) -> int | None:
    """A descriptor to read ``name`` from (``-``: standard input), or None after an error.

    The error is printed unless ``quiet``.
    """
    if name == "-":
        return stdio.STDIN_FILENO
    try:
        return await libc.open(name, libc.O_RDONLY)
    except OSError as exc:
        if not quiet:
            await fail(prog, name, exc)
        return None


async def close_input(fd: int) -> None:
    """Close what :func:`open_input` opened (standard input stays open)."""
    if fd != stdio.STDIN_FILENO:
        await libc.close(fd)


async def slurp(prog: str, name: str, *, quiet: bool = False) -> bytes | None:
    """All of ``name`` (``-``: standard input), or None after saying why (unless ``quiet``)."""
    fd = await open_input(prog, name, quiet=quiet)
    if fd is None:
        return None
    try:
        return await stdio.read_all(fd)
    except OSError as exc:
        if not quiet:
            await fail(prog, name, exc)
        return None
    finally:
        await close_input(fd)


async def slurp_all(prog: str, names: list[str]) -> tuple[list[tuple[str, bytes]], int]:
    """Each readable operand's name and contents (no operands: standard input).

    The status is 1 if any could not be read (each such was reported), else 0.
    """
    found: list[tuple[str, bytes]] = []
    status = 0
    for name in names or ["-"]:
        data = await slurp(prog, name)
        if data is None:
            status = 1
        else:
            found.append((name, data))
    return found, status


def parse_int(text: str) -> int | None:
    """``text`` as a non-negative decimal integer, or None."""
    return int(text) if text.isascii() and text.isdigit() else None


async def is_dir(path: str) -> bool:
    """Whether ``path`` names a directory (following symbolic links)."""
    try:
        return libc.S_ISDIR((await libc.stat(path)).st_mode)
    except OSError:
        return False


async def placements(prog: str, synopsis: str, operands: list[str]) -> list[tuple[str, str]] | int:
    """``(source, destination)`` pairs for ``prog source... target``, or a failure status.

    A directory ``target`` receives each source under its own name; any other
    ``target`` is the destination of the one source allowed. Fewer than two
    operands is a usage error (2); several sources and no directory, status 1.
    """
    if len(operands) < 2:
        return await usage(prog, synopsis, "missing operand")
    *sources, target = operands
    if not await is_dir(target):
        if len(sources) > 1:
            await stdio.error(prog, f"{target}: Not a directory")
            return 1
        return [(sources[0], target)]
    return [
        (src, posixpath.join(target, posixpath.basename(src.rstrip("/")) or src)) for src in sources
    ]


_TYPES: Final = {
    libc.S_IFDIR: "d",
    libc.S_IFCHR: "c",
    libc.S_IFBLK: "b",
    libc.S_IFREG: "-",
    libc.S_IFLNK: "l",
    libc.S_IFIFO: "p",
    libc.S_IFSOCK: "s",
}


def mode_string(mode: int) -> str:
    """``mode`` as ``ls -l`` shows it: ``drwxr-xr-x``, ``-rwsr-x---``, ``drwxrwxrwt``."""
    out = [_TYPES.get(libc.S_IFMT(mode), "?")]
    special = (libc.S_ISUID, libc.S_ISGID, libc.S_ISVTX)
    for who in range(3):
        bits = (mode >> (6 - 3 * who)) & 7
        out.append("r" if bits & 4 else "-")
        out.append("w" if bits & 2 else "-")
        x = bits & 1
        if mode & special[who]:
            mark = "t" if who == 2 else "s"
            out.append(mark if x else mark.upper())
        else:
            out.append("x" if x else "-")
    return "".join(out)


async def id_names(path: str) -> dict[int, str]:
    """Names by number from a ``name:x:number:...`` file (``/etc/passwd``, ``/etc/group``).

    A file that cannot be read gives no names (numbers are then shown as numbers).
    """
    try:
        fd = await libc.open(path, libc.O_RDONLY)
    except OSError:
        return {}
    try:
        text = stdio.decode(await stdio.read_all(fd))
    except OSError:
        return {}
    finally:
        await libc.close(fd)
    names: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            names.setdefault(int(fields[2]), fields[0])
    return names


def wallclock(t: float) -> datetime:
    """File time ``t`` (Unix time, as ``libc.stat`` gives it) as calendar time (UTC).

    File servers stamp files with the kernel clock, seconds since boot; libc adds the
    kernel's boot time (:mod:`userland.libc.files`).
    """
    return datetime.fromtimestamp(t, tz=UTC)


_WHO: Final = {"u": 0o4700, "g": 0o2070, "o": 0o1007, "a": 0o7777}
_PERM: Final = {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000}
_SYMBOLIC: Final = re.compile(r"[ugoa]*(?:[-+=](?:[ugo]|[rwxXst]*))+")


def apply_mode(spec: str, mode: int, mask: int = 0, *, is_dir: bool = False) -> int | None:
    """The permission bits ``spec`` makes of ``mode``, or None if ``spec`` is malformed.

    ``spec`` is octal (``755``) or POSIX symbolic (``u+x,go-w,a=r``, ``g=u``, ``+X``);
    a clause naming no one acts on everyone but the bits set in ``mask`` (the umask).
    """
    if spec and all(c in "01234567" for c in spec):
        value = int(spec, 8)
        return value if value <= 0o7777 else None
    mode &= 0o7777
    for clause in spec.split(","):
        if not _SYMBOLIC.fullmatch(clause):
            return None
        who = 0
        for c in clause:
            if c not in _WHO:
                break
            who |= _WHO[c]
        ops = clause[len(clause) - len(clause.lstrip("ugoa")) :]
        for m in re.finditer(r"([-+=])([ugo]|[rwxXst]*)", ops):
            mode = _apply_op(mode, who, mask, m[1], m[2], is_dir)
    return mode


def _apply_op(mode: int, who: int, mask: int, op: str, perms: str, is_dir: bool) -> int:
    """One ``+``/``-``/``=`` of a symbolic mode clause."""
    unnamed = who == 0
    target = 0o7777 & ~mask if unnamed else who
    if perms in ("u", "g", "o"):
        shift = {"u": 6, "g": 3, "o": 0}[perms]
        bits = ((mode >> shift) & 7) * 0o111
    else:
        bits = 0
        for c in perms:
            if c == "X":
                if is_dir or mode & 0o111:
                    bits |= 0o111
            else:
                bits |= _PERM[c]
    bits &= target
    if op == "+":
        return mode | bits
    if op == "-":
        return mode & ~bits
    cleared = mode & ~(0o7777 if unnamed else who)
    return cleared | bits


async def print_each(names: list[str], text_of: Callable[[str], Awaitable[bytes | None]]) -> int:
    """Print ``text_of(name)`` for each name; 1 if any gave None (it said why), else 0.

    With several names each text is headed ``==> name <==``, and texts after the
    first are set off by a blank line (as ``head`` and ``tail`` do).
    """
    status = 0
    shown = False
    for name in names:
        text = await text_of(name)
        if text is None:
            status = 1
            continue
        if len(names) > 1:
            text = stdio.encode(("\n" if shown else "") + f"==> {name} <==\n") + text
        shown = True
        await stdio.write_all(stdio.STDOUT_FILENO, text)
    return status


def legacy_count(argv: list[str]) -> list[str]:
    """``argv`` with a historical leading ``-N`` (``head -5``) spelled ``-n N``."""
    if len(argv) > 1 and re.fullmatch(r"-\d+", argv[1]):
        return [argv[0], "-n", argv[1][1:], *argv[2:]]
    return argv


_LINE: Final = re.compile(rb"[^\n]*\n|[^\n]+\Z")


def lines_of(data: bytes) -> list[bytes]:
    """``data`` cut after each newline (a last line without one is a line too)."""
    return _LINE.findall(data)
