"""sort: sort lines.

Lines from every operand (none: standard input) are sorted together, compared byte
by byte (the C locale), and written out. Options: ``-r`` reverse, ``-n`` compare
the key's leading number (optional sign, digits, decimal point; none counts as 0),
``-u`` print only the first of lines whose keys compare equal, ``-k N[,M]`` the key
is fields N through M (default: to the end of the line; no character offsets or
per-key flags), ``-t SEP`` fields are separated by SEP (default: each field is a
run of blanks and the non-blanks after it, as POSIX says). Lines whose keys are
equal are ordered by the whole line (unless ``-u``), as GNU sort does. A last line
without a newline gets one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from userland.bin._common import USAGE, getopts, lines_of, slurp_all, usage
from userland.libc import stdio

if TYPE_CHECKING:
    from collections.abc import Callable

PROG: Final = "sort"
SYNOPSIS: Final = "sort [-nru] [-k field[,field]] [-t sep] [file...]"

_FIELD: Final = re.compile(rb"[ \t]*[^ \t]+|[ \t]+$")
_NUMBER: Final = re.compile(rb"[ \t]*([-+]?(?:\d+\.?\d*|\.\d+))")

Key = bytes | float


class _Keys:
    """How a line's sort key is found."""

    def __init__(self, first: int, last: int | None, sep: bytes | None, numeric: bool) -> None:
        self.first, self.last, self.sep, self.numeric = first, last, sep, numeric

    def fields(self, line: bytes) -> bytes:
        """The part of ``line`` (no newline) between the key's fields."""
        if self.first == 1 and self.last is None:
            return line
        stop = self.last
        if self.sep is not None:
            return self.sep.join(line.split(self.sep)[self.first - 1 : stop])
        return b"".join(_FIELD.findall(line)[self.first - 1 : stop])

    def key(self, line: bytes) -> Key:
        """The key of ``line`` (a number under ``-n``)."""
        text = self.fields(line.removesuffix(b"\n"))
        if not self.numeric:
            return text
        m = _NUMBER.match(text)
        return float(m[1]) if m else 0.0


def _parse_key(spec: str) -> tuple[int, int | None] | None:
    m = re.fullmatch(r"(\d+)(?:,(\d+))?", spec)
    if m is None or int(m[1]) < 1 or (m[2] is not None and int(m[2]) < int(m[1])):
        return None
    return int(m[1]), None if m[2] is None else int(m[2])


def sort_lines(
    lines: list[bytes], key: Callable[[bytes], Key], reverse: bool, unique: bool
) -> list[bytes]:
    """``lines`` sorted by ``key`` (ties by the whole line), or deduplicated by key."""
    if not unique:
        return sorted(lines, key=lambda line: (key(line), line), reverse=reverse)
    out: list[bytes] = []
    last: Key | None = None
    for line in sorted(lines, key=key, reverse=reverse):
        k = key(line)
        if not out or k != last:
            out.append(line)
            last = k
    return out


async def main(argv: list[str]) -> int:
    """Sort the operands' lines; 1 if an operand could not be read, 2 on bad options."""
    parsed = await getopts(PROG, argv, "nruk:t:", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    flags = {opt for opt, _ in opts}
    fields: tuple[int, int | None] = (1, None)
    sep: bytes | None = None
    for opt, arg in opts:
        if opt == "-k":
            found = _parse_key(arg)
            if found is None:
                return await usage(PROG, SYNOPSIS, f"invalid key: {arg}")
            fields = found
        elif opt == "-t":
            if len(arg) != 1:
                return await usage(PROG, SYNOPSIS, f"separator must be one character: {arg}")
            sep = stdio.encode(arg)
    keys = _Keys(*fields, sep, "-n" in flags)
    inputs, status = await slurp_all(PROG, operands)
    lines = [
        line if line.endswith(b"\n") else line + b"\n"
        for _, data in inputs
        for line in lines_of(data)
    ]
    out = sort_lines(lines, keys.key, "-r" in flags, "-u" in flags)
    await stdio.write_all(stdio.STDOUT_FILENO, b"".join(out))
    return status
