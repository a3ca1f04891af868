"""Word expansion: from a :class:`~userland.sh.nodes.Word` to fields (XCU 2.6).

In order: tilde expansion, parameter expansion, command substitution and
arithmetic (all left to right), field splitting of the unquoted results on IFS,
pathname expansion of fields holding unquoted ``* ? [``, quote removal. A field
is built as chunks of text, each quoted or not: quoting decides what splits and
what globs, and the chunks joined are the field after quote removal.

The shell supplies the variables and runs command substitutions through the
:class:`Context` protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from userland.sh import arith, pattern
from userland.sh.lex import heredoc_parts, is_name
from userland.sh.nodes import DQ, Arith, CmdSub, HereDoc, Lit, Param, Quoted, Word

if TYPE_CHECKING:
    from collections.abc import Iterable

    from userland.sh.nodes import Part

DEFAULT_IFS: Final = " \t\n"


class ExpansionError(Exception):
    """An expansion failed (``${x:?}``, bad arithmetic); the message says why."""


class Context(arith.Variables, Protocol):
    """What expansion needs from the shell."""

    positional: list[str]

    async def substitute(self, sub: CmdSub) -> str:
        """The output of command substitution ``sub`` (setting ``$?``)."""

    async def home_of(self, user: str) -> str | None:
        """The home directory of ``user`` ("" : the current user), or None."""


Chunk = tuple[str, bool]
"""Text of a field and whether it was quoted."""


class _Fields:
    """Fields under construction."""

    def __init__(self, ctx: Context, split: bool) -> None:
        self.ctx = ctx
        self.split = split
        self.done: list[list[Chunk]] = []
        self.cur: list[Chunk] = []
        self.exists = False

    def add(self, text: str, quoted: bool) -> None:
        self.cur.append((text, quoted))
        if quoted or text:
            self.exists = True

    def end_field(self) -> None:
        if self.exists or self.cur:
            self.done.append(self.cur)
        self.cur = []
        self.exists = False

    def add_expanded(self, text: str, quoted: bool) -> None:
        """Add the result of an expansion: split on IFS unless quoted."""
        if quoted or not self.split:
            self.add(text, quoted)
            return
        ifs = self.ctx.lookup("IFS")
        ifs = DEFAULT_IFS if ifs is None else ifs
        if not ifs:
            self.add(text, False)
            return
        for piece, delimited in _split(text, ifs):
            if piece is None:
                self.end_field()
            else:
                self.add(piece, False)
                self.exists = self.exists or delimited

    async def parts(self, parts: Iterable[Part], quoted: bool) -> None:
        for part in parts:
            await self.part(part, quoted)

    async def part(self, part: Part, quoted: bool) -> None:
        if isinstance(part, Lit):
            self.add(part.text, quoted)
        elif isinstance(part, Quoted):
            self.add(part.text, True)
        elif isinstance(part, DQ):
            if part.parts != (Param("@"),):
                self.exists = True
            await self.parts(part.parts, True)
        elif isinstance(part, Param):
            await self.param(part, quoted)
        elif isinstance(part, CmdSub):
            self.add_expanded((await self.ctx.substitute(part)).rstrip("\n"), quoted)
        elif isinstance(part, Arith):
            text = await expand_string(self.ctx, part.parts)
            try:
                value = arith.evaluate(text, self.ctx)
            except arith.ArithError as exc:
                raise ExpansionError(f"{text.strip()}: {exc}") from None
            self.add_expanded(str(value), quoted)
        else:
            home = await self.ctx.home_of(part.user)
            self.add(("~" + part.user) if home is None else home, True)

    async def param(self, p: Param, quoted: bool) -> None:
        if p.name in ("@", "*"):
            args = self.ctx.positional
            kind = p.op[-1:]
            if p.op == "length":
                self.add_expanded(str(len(args)), quoted)
                return
            if kind in ("-", "=", "?") and not args:
                if kind == "?":
                    raise ExpansionError(f"{p.name}: parameter null or not set")
                await self.parts(p.word.parts if p.word else (), quoted)
            elif kind == "+":
                if args:
                    await self.parts(p.word.parts if p.word else (), quoted)
            elif kind in ("", "-", "=", "?"):
                self._positional(p.name, args, quoted)
            else:
                self.add_expanded(
                    _trim(
                        " ".join(args),
                        p.op,
                        await expand_pattern(self.ctx, p.word) if p.word else "",
                    ),
                    quoted,
                )
            return
        value = self.ctx.lookup(p.name)
        op = p.op
        if op == "":
            self.add_expanded(value or "", quoted)
        elif op == "length":
            self.add_expanded(str(len(value or "")), quoted)
        elif op in (":-", "-", ":=", "=", ":?", "?", ":+", "+"):
            unset = value is None or (op[0] == ":" and value == "")
            kind = op[-1]
            word = p.word.parts if p.word else ()
            if kind == "+":
                if not unset:
                    await self.parts(word, quoted)
            elif not unset:
                self.add_expanded(value or "", quoted)
            elif kind == "-":
                await self.parts(word, quoted)
            elif kind == "=":
                if not is_name(p.name):
                    raise ExpansionError(f"{p.name}: cannot assign in this way")
                new = await expand_string(self.ctx, word)
                self.ctx.assign(p.name, new)
                self.add_expanded(new, quoted)
            else:
                message = await expand_string(self.ctx, word) or "parameter null or not set"
                raise ExpansionError(f"{p.name}: {message}")
        else:
            pat = await expand_pattern(self.ctx, p.word) if p.word else ""
            self.add_expanded(_trim(value or "", op, pat), quoted)

    def _positional(self, name: str, args: list[str], quoted: bool) -> None:
        if quoted and name == "*":
            ifs = self.ctx.lookup("IFS")
            sep = " " if ifs is None else ifs[:1]
            self.add(sep.join(args), True)
            return
        for k, arg in enumerate(args):
            if k > 0:
                self.end_field()
            self.add_expanded(arg, quoted)


def _split(text: str, ifs: str) -> list[tuple[str | None, bool]]:
    """``text`` cut at IFS characters: pieces, with None marking a field boundary.

    IFS white space around a delimiter is part of it and runs of it count once; a
    non-white IFS character delimits alone (so ``a::b`` has an empty field).
    """
    white = {c for c in ifs if c in DEFAULT_IFS}
    out: list[tuple[str | None, bool]] = []
    i, n = 0, len(text)
    piece: list[str] = []
    while i < n:
        c = text[i]
        if c not in ifs:
            piece.append(c)
            i += 1
            continue
        j = i
        while j < n and text[j] in white:
            j += 1
        hard = j < n and text[j] in ifs and text[j] not in white
        if hard:
            j += 1
            while j < n and text[j] in white:
                j += 1
        if piece:
            out.append(("".join(piece), False))
            piece = []
        if hard:
            out.append(("", True))
        out.append((None, False))
        i = j
    if piece:
        out.append(("".join(piece), False))
    return out


def _trim(value: str, op: str, pat: str) -> str:
    if op in ("#", "##"):
        n = pattern.matching_prefix(pat, value, op == "##")
        return value if n is None else value[n:]
    start = pattern.matching_suffix(pat, value, op == "%%")
    return value if start is None else value[:start]


def _as_pattern(chunks: list[Chunk]) -> str:
    return "".join(pattern.escape(t) if q else t for t, q in chunks)


def _as_text(chunks: list[Chunk]) -> str:
    return "".join(t for t, _ in chunks)


async def expand_words(ctx: Context, words: Iterable[Word]) -> list[str]:
    """The fields ``words`` expand to (split, globbed, quotes removed).

    Raises:
        ExpansionError: as a failing ``${x:?}`` or bad arithmetic.
    """
    out: list[str] = []
    for word in words:
        if (
            len(word.parts) == 1
            and isinstance(word.parts[0], Lit)
            and not pattern.has_magic(word.raw)
        ):
            out.append(word.parts[0].text)  # the common case: a plain word
            continue
        fields = _Fields(ctx, split=True)
        await fields.parts(word.parts, False)
        fields.end_field()
        for chunks in fields.done:
            if any(not q and pattern.has_magic(t) for t, q in chunks):
                matches = await pattern.glob(_as_pattern(chunks))
                if matches:
                    out += matches
                    continue
            out.append(_as_text(chunks))
    return out


async def expand_string(ctx: Context, parts: Iterable[Part]) -> str:
    """``parts`` expanded to one string (no splitting, no globbing)."""
    fields = _Fields(ctx, split=False)
    await fields.parts(parts, False)
    return _as_text(fields.cur)


async def expand_word(ctx: Context, word: Word) -> str:
    """``word`` expanded to one string (assignments, redirection targets, ``case``)."""
    return await expand_string(ctx, word.parts)


async def expand_pattern(ctx: Context, word: Word) -> str:
    """``word`` expanded as a pattern: quoted characters match only themselves."""
    fields = _Fields(ctx, split=False)
    await fields.parts(word.parts, False)
    return _as_pattern(fields.cur)


async def expand_heredoc(ctx: Context, doc: HereDoc) -> str:
    """A here-document's text: expanded unless its delimiter was quoted."""
    body = doc.body or ""
    if not doc.expand:
        return body
    if doc.parts is None:
        doc.parts = heredoc_parts(body)
    return await expand_string(ctx, doc.parts)
