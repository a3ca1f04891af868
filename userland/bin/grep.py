r"""grep: print the lines that match a pattern.

Patterns are POSIX basic regular expressions, or extended ones with ``-E``; ``-F``
takes them as fixed strings. Both are translated to Python's :mod:`re`: in a basic
expression ``\( \) \{ \} \| \+ \?`` are the operators and ``( ) { } | + ?`` plain
characters (the GNU reading), in an extended one the reverse; bracket expressions
accept the twelve POSIX classes (``[:alpha:]``, ``[:punct:]``..., see
:mod:`userland.charclass`). Back-references
work in both (Python's ``\1``). Anything else follows Python's syntax.

Options: ``-e PATTERN`` (repeatable; a line matching any is selected), ``-v`` select
non-matching lines, ``-i`` ignore case, ``-c`` print only counts, ``-n`` number lines,
``-l`` print only the names of files with a selected line, ``-q`` print nothing and
stop at the first selected line, ``-s`` no messages about unreadable files. With
several files each output line starts with ``name:``.

Exit status: 0 a line was selected, 1 none was, 2 an error (a bad pattern, an
unreadable file) unless ``-q`` found a line.
"""

from __future__ import annotations

import re
from typing import Final

from userland.bin._common import USAGE, getopts, lines_of, slurp, usage
from userland.charclass import class_at
from userland.libc import stdio

PROG: Final = "grep"
SYNOPSIS: Final = "grep [-EFcilnqsv] [-e pattern]... [pattern] [file...]"
ERROR: Final = 2

_BRE_SWAPPED: Final = "(){}|+?"


def _bracket(pattern: str, i: int) -> tuple[str, int]:
    """The bracket expression opening at ``pattern[i]`` as Python's, and where it ends."""
    j = i + 1
    out = "["
    if j < len(pattern) and pattern[j] == "^":
        out, j = "[^", j + 1
    first = True
    while j < len(pattern) and (first or pattern[j] != "]"):
        if found := class_at(pattern, j):
            members, j = found
            out += members
        else:
            c = pattern[j]
            out += "\\" + c if c in "\\[]" else c  # POSIX brackets have no escapes
            j += 1
        first = False
    if j >= len(pattern):
        raise re.error("unmatched [")
    return out + "]", j + 1


def translate(pattern: str, extended: bool) -> str:
    """POSIX ``pattern`` (basic, or ``extended``) as a Python regular expression."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            piece, i = _bracket(pattern, i)
            out.append(piece)
            continue
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if not extended and nxt in _BRE_SWAPPED:
                out.append(nxt)
            else:
                out.append(c + nxt)
            i += 2
            continue
        if not extended and c in _BRE_SWAPPED:
            out.append("\\" + c)
        elif not extended and c == "*" and (not out or out[-1] in ("^", "(")):
            out.append(r"\*")  # a leading * is literal in a basic expression
        else:
            out.append(c)
        i += 1
    return "".join(out)


class _Options:
    """What the command line asked for."""

    def __init__(self, opts: list[tuple[str, str]]) -> None:
        flags = {opt for opt, _ in opts}
        self.invert = "-v" in flags
        self.count = "-c" in flags
        self.number = "-n" in flags
        self.names_only = "-l" in flags
        self.quiet = "-q" in flags
        self.silent = "-s" in flags
        self.ignore_case = "-i" in flags
        self.fixed = "-F" in flags
        self.extended = "-E" in flags
        self.patterns = [arg for opt, arg in opts if opt == "-e"]

    def compile(self) -> re.Pattern[str]:
        """One expression matching a line that any pattern matches."""
        parts = [part for pattern in self.patterns for part in pattern.split("\n")]
        texts = [re.escape(p) if self.fixed else translate(p, self.extended) for p in parts]
        flags = re.IGNORECASE if self.ignore_case else 0
        return re.compile("|".join(f"(?:{t})" for t in texts), flags)


def _select(opts: _Options, regex: re.Pattern[str], data: bytes) -> list[tuple[int, str]]:
    """The selected lines of ``data`` with their numbers (newline stripped)."""
    found = []
    for n, raw in enumerate(lines_of(data), 1):
        line = stdio.decode(raw.removesuffix(b"\n"))
        if (regex.search(line) is not None) != opts.invert:
            found.append((n, line))
    return found


def _report(opts: _Options, name: str, label: bool, found: list[tuple[int, str]]) -> str:
    """What is printed for file ``name`` (``label``: each line starts with the name)."""
    if name == "-":
        name = "(standard input)"
    prefix = f"{name}:" if label else ""
    if opts.names_only:
        return f"{name}\n" if found else ""
    if opts.count:
        return f"{prefix}{len(found)}\n"
    return "".join(
        f"{prefix}{n}:{line}\n" if opts.number else f"{prefix}{line}\n" for n, line in found
    )


async def main(argv: list[str]) -> int:
    """Search the operands (none: standard input); 0 found, 1 not found, 2 error."""
    parsed = await getopts(PROG, argv, "EFcilnqsve:", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts = _Options(parsed[0])
    operands = parsed[1]
    if not opts.patterns:
        if not operands:
            return await usage(PROG, SYNOPSIS, "missing pattern")
        opts.patterns, operands = [operands[0]], operands[1:]
    try:
        regex = opts.compile()
    except re.error as exc:
        await stdio.error(PROG, f"bad pattern: {exc}")
        return ERROR
    names = operands or ["-"]
    label = len(names) > 1
    selected = error = False
    for name in names:
        data = await slurp(PROG, name, quiet=opts.silent)
        if data is None:
            error = True
            continue
        found = _select(opts, regex, data)
        selected = selected or bool(found)
        if opts.quiet:
            if found:
                return 0
            continue
        await stdio.write_all(stdio.STDOUT_FILENO, _report(opts, name, label, found))
    if error:
        return ERROR
    return 0 if selected else 1
