"""Arithmetic expansion ``$((...))``: C's integer expressions on 64-bit signed values.

Operators, loosest first: assignment (``= += -= *= /= %= <<= >>= &= ^= |=``),
``?:``, ``||``, ``&&``, ``|``, ``^``, ``&``, ``== !=``, ``< <= > >=``,
``<< >>``, ``+ -``, ``* / %``, unary ``+ - ! ~``, parentheses. Numbers are decimal,
octal (``0``) or hex (``0x``); a variable name stands for its value (unset or
empty: 0; a value that is itself an expression is evaluated). ``&&``, ``||`` and
``?:`` evaluate only the operand they need.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

_TOKEN: Final = re.compile(
    r"\s*(?:(0[xX][0-9a-fA-F]+|[0-9]+)|([A-Za-z_][A-Za-z0-9_]*)"
    r"|(<<=|>>=|\*\*|<=|>=|==|!=|&&|\|\||<<|>>|[-+*/%&^|]=|[-+*/%<>=!~&^|()?:]))"
)
_BINARY: Final[dict[str, int]] = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    "<=": 7,
    ">": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}
_ASSIGN: Final = frozenset(("=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|="))
_MAX_DEPTH: Final = 32


class ArithError(Exception):
    """A bad expression ("division by zero", "syntax error in expression ...")."""


class Variables(Protocol):
    """Where names get their values and assignments go."""

    def lookup(self, name: str) -> str | None:
        """The value of ``name`` (None when unset)."""

    def assign(self, name: str, value: str) -> None:
        """Set ``name`` to ``value``."""


def _wrap(v: int) -> int:
    return ((v + 2**63) % 2**64) - 2**63


def _div(a: int, b: int) -> int:
    if b == 0:
        raise ArithError("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


_OPS: Final[dict[str, Callable[[int, int], int]]] = {
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "&": lambda a, b: a & b,
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b),
    ">=": lambda a, b: int(a >= b),
    "<<": lambda a, b: a << (b & 63),
    ">>": lambda a, b: a >> (b & 63),
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
    "%": lambda a, b: a - b * _div(a, b),
}


def evaluate(text: str, env: Variables, depth: int = 0) -> int:
    """The value of expression ``text``.

    Raises:
        ArithError: a syntax error, division by zero, or too deep a recursion.
    """
    if depth > _MAX_DEPTH:
        raise ArithError("expression recursion level exceeded")
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ArithError(f'syntax error in expression (error token is "{text[pos:].strip()}")')
        tokens.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    if not tokens:
        return 0
    parser = _Parser(tokens, env, depth)
    value = parser.assignment(True)
    if parser.i < len(tokens):
        raise ArithError(f'syntax error in expression (error token is "{tokens[parser.i]}")')
    return value


class _Parser:
    """Precedence climbing over the tokens, evaluating as it goes.

    A method called with ``live`` False parses its operand without evaluating it
    (the operand a short-circuit skips).
    """

    def __init__(self, tokens: list[str], env: Variables, depth: int) -> None:
        self.tokens = tokens
        self.env = env
        self.depth = depth
        self.i = 0

    def _peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> str:
        tok = self._peek()
        if tok is None:
            raise ArithError("syntax error in expression (missing operand)")
        self.i += 1
        return tok

    def _variable(self, name: str) -> int:
        value = (self.env.lookup(name) or "").strip()
        if not value:
            return 0
        if re.fullmatch(r"-?[0-9]+", value):
            return _wrap(int(value))
        return evaluate(value, self.env, self.depth + 1)

    def assignment(self, live: bool) -> int:
        tok = self._peek()
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if tok is not None and re.fullmatch(r"[A-Za-z_]\w*", tok) and nxt in _ASSIGN:
            self.i += 2
            value = self.assignment(live)
            if live:
                if nxt != "=":
                    value = _wrap(_OPS[nxt[:-1]](self._variable(tok), value))
                self.env.assign(tok, str(value))
            return value
        return self.ternary(live)

    def ternary(self, live: bool) -> int:
        cond = self.binary(1, live)
        if self._peek() != "?":
            return cond
        self.i += 1
        yes = self.assignment(live and cond != 0)
        if self._take() != ":":
            raise ArithError("syntax error in expression (expecting ':')")
        no = self.assignment(live and cond == 0)
        return yes if cond else no

    def binary(self, level: int, live: bool) -> int:
        left = self.unary(live)
        while (op := self._peek()) in _BINARY and _BINARY[op] >= level:
            self.i += 1
            if op == "&&":
                right = self.binary(_BINARY[op] + 1, live and left != 0)
                left = int(left != 0 and right != 0)
            elif op == "||":
                right = self.binary(_BINARY[op] + 1, live and left == 0)
                left = int(left != 0 or right != 0)
            else:
                right = self.binary(_BINARY[op] + 1, live)
                left = _wrap(_OPS[op](left, right)) if live else 0
        return left

    def unary(self, live: bool) -> int:
        tok = self._take()
        if tok == "(":
            value = self.assignment(live)
            if self._take() != ")":
                raise ArithError("syntax error in expression (missing ')')")
            return value
        if tok in ("+", "-", "!", "~"):
            v = self.unary(live)
            return {"+": v, "-": _wrap(-v), "!": int(v == 0), "~": ~v}[tok]
        if tok[0].isdigit():
            try:
                if len(tok) > 1 and tok[0] == "0" and tok[1] not in "xX":
                    return _wrap(int(tok, 8))
                return _wrap(int(tok, 0))
            except ValueError:
                raise ArithError(f'invalid number "{tok}"') from None
        if tok[0].isalpha() or tok[0] == "_":
            return self._variable(tok) if live else 0
        raise ArithError(f'syntax error in expression (error token is "{tok}")')
