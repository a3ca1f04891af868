r"""printf: write arguments under the control of a format, as POSIX ``printf``.

The format's conversions are ``%s %b %d %i %u %x %X %o %c %%`` with the flags
``-+ #0``, a width and a precision (digits; ``*`` is not supported). ``%b`` is
``%s`` with the argument's backslash escapes interpreted: those of the format
except ``\"``, ``\0NNN`` (zero to three octal digits after the ``0``), and ``\c``,
which ends all output there. Backslash escapes in the format: ``\n \t \r \a \b
\f \v \\ \"`` and ``\NNN`` (one to three octal digits, so ``\0NN`` is a byte too;
as POSIX says for the format, ``\0101`` is ``\010`` then ``1``). The format is
reused while arguments remain; a missing argument is an empty string or zero. A
numeric argument may be decimal, ``0x`` hex, ``0`` octal or ``'c`` (the code of
``c``); a bad one prints a diagnostic, counts as its valid prefix (or 0) and makes
the status 1.
"""

from __future__ import annotations

import re
from typing import Final

from userland.bin._common import usage
from userland.libc import stdio

PROG: Final = "printf"
SYNOPSIS: Final = "printf format [argument...]"

_ESCAPES: Final = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}
_TOKEN: Final = re.compile(
    r"%(?P<spec>[-+ #0]*\d*(?:\.\d*)?)(?P<conv>[sbdiuxXoc%])|\\(?P<oct>[0-7]{1,3})|\\(?P<esc>.)|%",
    re.DOTALL,
)
_B_ESCAPE: Final = re.compile(r"\\(?:0([0-7]{0,3})|(.))", re.DOTALL)
_NUMBER: Final = re.compile(r"\s*([-+]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_UNSIGNED: Final = 1 << 64


class _Formatter:
    """One run of ``printf``: the conversions applied, and whether an argument was bad."""

    def __init__(self, fmt: str) -> None:
        self.pieces: list[str | tuple[str, str]] = []
        self.converts = False
        self.errors: list[str] = []
        self.stopped = False  # a %b argument held \c: no more output at all
        self._parse(fmt)

    def _parse(self, fmt: str) -> None:
        pos = 0
        for m in _TOKEN.finditer(fmt):
            self.pieces.append(fmt[pos : m.start()])
            pos = m.end()
            if m["conv"] == "%":
                self.pieces.append("%")
            elif m["conv"]:
                self.pieces.append((m["spec"], m["conv"]))
                self.converts = True
            elif m["oct"] is not None:
                self.pieces.append(stdio.decode(bytes([int(m["oct"], 8) & 0xFF])))
            elif m["esc"] is not None:
                self.pieces.append(_ESCAPES.get(m["esc"], "\\" + m["esc"]))
            else:
                self.pieces.append("%")  # a lone % at the end or before an unknown letter
        self.pieces.append(fmt[pos:])

    def number(self, arg: str) -> int:
        """``arg`` as an integer (C's ``strtol`` with POSIX's ``'c`` form)."""
        if arg[:1] in ("'", '"'):
            return ord(arg[1]) if len(arg) > 1 else 0
        m = _NUMBER.match(arg)
        value = 0
        if m:
            digits = m[2]
            octal = digits[0] == "0" and len(digits) > 1
            base = 16 if digits[:2].lower() == "0x" else 8 if octal else 10
            value = int(digits, base) * (-1 if m[1] == "-" else 1)
        if m is None or m.end() != len(arg):
            self.errors.append(f"{arg}: {'not completely converted' if m else 'invalid number'}")
        return value

    def expand_b(self, arg: str) -> str:
        r"""``arg`` with the escapes ``%b`` interprets; at ``\c``, what precedes it."""
        out: list[str] = []
        pos = 0
        for m in _B_ESCAPE.finditer(arg):
            out.append(arg[pos : m.start()])
            pos = m.end()
            if m[2] == "c":
                self.stopped = True
                return "".join(out)
            if m[1] is not None:
                out.append(stdio.decode(bytes([int(m[1] or "0", 8) & 0xFF])))
            else:
                out.append(_ESCAPES[m[2]] if m[2] in _ESCAPES and m[2] != '"' else m[0])
        return "".join(out) + arg[pos:]

    def convert(self, spec: str, conv: str, arg: str | None) -> str:
        """One conversion of ``arg`` (None: missing)."""
        if conv == "s":
            return f"%{spec}s" % (arg or "")
        if conv == "b":
            return f"%{spec}s" % self.expand_b(arg or "")
        if conv == "c":
            return f"%{spec}s" % (arg or "")[:1]
        value = self.number(arg) if arg else 0
        if conv in "uxXo" and value < 0:
            value += _UNSIGNED
        return f"%{spec}{'d' if conv in 'iu' else conv}" % value

    def format(self, args: list[str]) -> str:
        """The output for all of ``args``, reusing the format while any remain."""
        out: list[str] = []
        while True:
            for piece in self.pieces:
                if isinstance(piece, str):
                    out.append(piece)
                else:
                    out.append(self.convert(*piece, args.pop(0) if args else None))
                    if self.stopped:
                        return "".join(out)
            if not args or not self.converts:
                return "".join(out)


async def main(argv: list[str]) -> int:
    """Format ``argv[2:]`` under ``argv[1]``; 1 if an argument was not a number."""
    args = argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        return await usage(PROG, SYNOPSIS, "missing format")
    formatter = _Formatter(args[0])
    text = formatter.format(args[1:])
    await stdio.write_all(stdio.STDOUT_FILENO, text)
    for message in formatter.errors:
        await stdio.error(PROG, message)
    return 1 if formatter.errors else 0
