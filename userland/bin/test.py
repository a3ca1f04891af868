"""test and [: evaluate a conditional expression (POSIX ``test``).

``test EXPR`` or ``[ EXPR ]`` (``[`` requires the closing ``]`` as its last argument).
Exit status 0 when EXPR is true, 1 when false, 2 on an error (a malformed
expression, a bad integer, a missing ``]``), with a message on standard error.

Primaries:

- files: ``-e`` exists, ``-f`` regular, ``-d`` directory, ``-c`` character device,
  ``-b`` block device, ``-p`` FIFO, ``-S`` socket, ``-L``/``-h`` symbolic link (not
  followed), ``-s`` size above zero, ``-r``/``-w``/``-x`` access(2) with the real ids,
  ``-u``/``-g``/``-k`` set-user-id / set-group-id / sticky bit, ``-t FD`` a terminal;
  ``F1 -ef F2`` same file;
- strings: ``-n S`` non-empty, ``-z S`` empty, ``S`` non-empty, ``S1 = S2``,
  ``S1 != S2``;
- integers (optional blanks around an optional sign and decimal digits):
  ``-eq -ne -lt -le -gt -ge``;
- ``! E``, ``E1 -a E2``, ``E1 -o E2`` (``-a`` binds tighter), ``( E )``.

With up to four arguments the result follows POSIX's rules by argument count (so
``test -n`` and ``test ! =`` mean what POSIX says); longer expressions are parsed
with the precedence above (XSI's extension, which POSIX marks obsolescent).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from userland import libc
from userland.libc import stdio

if TYPE_CHECKING:
    from collections.abc import Callable

NAMES: Final = ("test", "[")

_INTEGER: Final = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")
_COMPARE: Final[dict[str, Callable[[int, int], bool]]] = {
    "-eq": lambda a, b: a == b,
    "-ne": lambda a, b: a != b,
    "-lt": lambda a, b: a < b,
    "-le": lambda a, b: a <= b,
    "-gt": lambda a, b: a > b,
    "-ge": lambda a, b: a >= b,
}
_ACCESS: Final = {"-r": libc.R_OK, "-w": libc.W_OK, "-x": libc.X_OK}
_MODE: Final[dict[str, Callable[[int], bool]]] = {
    "-f": libc.S_ISREG,
    "-d": libc.S_ISDIR,
    "-c": libc.S_ISCHR,
    "-b": libc.S_ISBLK,
    "-p": libc.S_ISFIFO,
    "-S": libc.S_ISSOCK,
    "-u": lambda m: bool(m & libc.S_ISUID),
    "-g": lambda m: bool(m & libc.S_ISGID),
    "-k": lambda m: bool(m & libc.S_ISVTX),
}
UNARY: Final = frozenset({"-e", "-s", "-L", "-h", "-n", "-z", "-t", *_ACCESS, *_MODE})
BINARY: Final = frozenset({"=", "!=", "-ef", *_COMPARE})


class TestError(Exception):
    """A malformed expression: the message to print, status 2."""


def integer(text: str) -> int:
    """``text`` as an integer operand.

    Raises:
        TestError: not an integer.
    """
    if not _INTEGER.fullmatch(text):
        raise TestError(f"{text}: integer expression expected")
    return int(text.strip(" \t"))


async def _stat(path: str, *, follow: bool = True) -> libc.stat_result | None:
    try:
        return await (libc.stat(path) if follow else libc.lstat(path))
    except OSError:
        return None


async def unary(op: str, arg: str) -> bool:
    """The value of the unary primary ``op arg``."""
    if op == "-n":
        return arg != ""
    if op == "-z":
        return arg == ""
    if op == "-t":
        return await libc.isatty(integer(arg))
    if op in _ACCESS:
        return arg != "" and await libc.access(arg, _ACCESS[op])
    st = await _stat(arg, follow=op not in ("-L", "-h"))
    if st is None:
        return False
    if op in ("-L", "-h"):
        return libc.S_ISLNK(st.st_mode)
    if op == "-s":
        return st.st_size > 0
    return op == "-e" or _MODE[op](st.st_mode)


async def binary(left: str, op: str, right: str) -> bool:
    """The value of the binary primary ``left op right``."""
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if op == "-ef":
        a, b = await _stat(left), await _stat(right)
        return a is not None and b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    return _COMPARE[op](integer(left), integer(right))


class _Parser:
    """A recursive-descent parser of XSI's grammar, for more than four arguments.

    ``or := and (-o and)*``, ``and := not (-a not)*``, ``not := ! not | primary``,
    ``primary := arg binary arg | ( or ) | unary arg | arg``.
    """

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.pos = 0

    def _peek(self, ahead: int = 0) -> str | None:
        i = self.pos + ahead
        return self.args[i] if i < len(self.args) else None

    def _take(self) -> str:
        arg = self._peek()
        if arg is None:
            raise TestError("argument expected")
        self.pos += 1
        return arg

    async def parse(self) -> bool:
        value = await self._or()
        if self.pos != len(self.args):
            raise TestError(f"{self.args[self.pos]}: unexpected operator")
        return value

    async def _or(self) -> bool:
        value = await self._and()
        while self._peek() == "-o":
            self.pos += 1
            value = await self._and() or value
        return value

    async def _and(self) -> bool:
        value = await self._not()
        while self._peek() == "-a":
            self.pos += 1
            value = await self._not() and value
        return value

    async def _not(self) -> bool:
        if self._peek() == "!":
            self.pos += 1
            return not await self._not()
        return await self._primary()

    async def _primary(self) -> bool:
        arg = self._take()
        following = self._peek()
        if following in BINARY:
            self.pos += 1
            return await binary(arg, following, self._take())
        if arg == "(":
            value = await self._or()
            if self._peek() != ")":
                raise TestError("')' expected")
            self.pos += 1
            return value
        if arg in UNARY and following is not None:
            return await unary(arg, self._take())
        return arg != ""


async def _posix(args: list[str]) -> bool:
    """POSIX's evaluation by the number of arguments (four at most), else the parser."""
    n = len(args)
    if n == 0:
        return False
    if n == 1:
        return args[0] != ""
    if n == 2:
        if args[0] == "!":
            return not await _posix(args[1:])
        if args[0] in UNARY:
            return await unary(args[0], args[1])
        raise TestError(f"{args[0]}: unary operator expected")
    if n == 3:
        if args[1] in BINARY:
            return await binary(*args)
        if args[1] in ("-a", "-o"):
            left, right = args[0] != "", args[2] != ""
            return (left and right) if args[1] == "-a" else (left or right)
        if args[0] == "!":
            return not await _posix(args[1:])
        if args[0] == "(" and args[2] == ")":
            return args[1] != ""
    if n == 4:
        if args[0] == "!":
            return not await _posix(args[1:])
        if args[0] == "(" and args[3] == ")":
            return await _posix(args[1:3])
    return await _Parser(args).parse()


async def evaluate(args: list[str]) -> bool:
    """The value of the expression ``args``.

    Raises:
        TestError: malformed expression or bad integer.
        OSError: EINTR.
    """
    return await _posix(args)


async def main(argv: list[str]) -> int:
    """0 when the expression is true, 1 when false, 2 on an error."""
    prog, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    if prog == "[":
        if not args or args[-1] != "]":
            await stdio.error("[", "missing ']'")
            return 2
        args = args[:-1]
    try:
        return 0 if await evaluate(args) else 1
    except TestError as exc:
        await stdio.error(prog, str(exc))
        return 2
