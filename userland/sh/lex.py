"""The lexer: shell text to tokens, and each word cut into parts.

:class:`Lexer` hands out tokens one at a time (the parser pulls them, so a
script runs command by command and an error further on does not stop what
comes before it): words, operators, newlines, IO numbers (``2`` in ``2>``) and
the end of input. Blanks separate tokens, ``#`` starts a comment, a backslash-
newline joins lines. A word is cut into :mod:`~userland.sh.nodes` parts while it
is scanned: literals, quoted text, double-quoted strings, parameter expansions,
command substitutions (found by lexing the inner text), arithmetic and a leading
tilde. After ``<<`` the next word is a here-document delimiter; the body is read
from the lines after the next newline token.

Running out of input inside a quote, a substitution or a here-document raises
:class:`ShSyntaxError` with ``at_eof`` set: an interactive shell then reads
another line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from userland.sh.nodes import DQ, Arith, CmdSub, HereDoc, Lit, Param, Part, Quoted, Tilde, Word

OPERATORS: Final = (
    "<<-",
    "&&",
    "||",
    ";;",
    "<<",
    ">>",
    "<&",
    ">&",
    "<>",
    ">|",
    "&",
    "|",
    ";",
    "<",
    ">",
    "(",
    ")",
)
_META: Final = frozenset(" \t\n;&|<>()")
_SPECIAL_PARAMS: Final = frozenset("@*#?$!-0123456789")

WORD: Final = "word"
OP: Final = "op"
NEWLINE: Final = "newline"
IO_NUMBER: Final = "io_number"
EOF: Final = "eof"


class ShSyntaxError(Exception):
    """A syntax error; ``near`` names the offending token ("end of file", "'fi'"...).

    ``at_eof`` is set when the text ended too early (more input could complete it).
    """

    def __init__(self, near: str, *, at_eof: bool = False, line: int = 0) -> None:
        super().__init__(f"syntax error: unexpected {near}")
        self.near = near
        self.at_eof = at_eof
        self.line = line


@dataclass(slots=True)
class Token:
    """A token: its kind, its text as written, where it starts, and its word."""

    kind: str
    text: str
    pos: int
    word: Word | None = None
    heredoc: HereDoc | None = None


def is_name(s: str) -> bool:
    """Whether ``s`` is a shell variable name (``[A-Za-z_][A-Za-z0-9_]*``)."""
    return (
        bool(s)
        and (s[0].isalpha() or s[0] == "_")
        and s.isascii()
        and s.replace("_", "a").isalnum()
    )


class Lexer:
    """Tokens from ``src`` starting at ``pos``, one :meth:`next` at a time."""

    def __init__(self, src: str, pos: int = 0) -> None:
        self.src = src
        self.pos = pos
        self._delimiter_op: str | None = None
        self._pending: list[HereDoc] = []

    def line_of(self, pos: int) -> int:
        """The line number (from 1) of offset ``pos``."""
        return self.src.count("\n", 0, pos) + 1

    def eof_error(self) -> ShSyntaxError:
        """The error for input that ends inside a construct (more input may complete it)."""
        return ShSyntaxError("end of file", at_eof=True, line=self.line_of(len(self.src)))

    def next(self) -> Token:
        """The next token.

        Raises:
            ShSyntaxError: unterminated quote, substitution or here-document.
        """
        src, n = self.src, len(self.src)
        i = self.pos
        while i < n:
            c = src[i]
            if c in " \t":
                i += 1
            elif c == "\\" and src.startswith("\\\n", i):
                i += 2
            elif c == "#":
                nl = src.find("\n", i)
                i = n if nl < 0 else nl
            else:
                break
        if i >= n:
            self.pos = n
            if self._pending:
                raise self.eof_error()
            return Token(EOF, "", n)
        c = src[i]
        if c == "\n":
            self.pos = i + 1
            self._read_heredocs()
            return Token(NEWLINE, "\n", i)
        for op in OPERATORS:
            if src.startswith(op, i):
                self.pos = i + len(op)
                if op in ("<<", "<<-"):
                    self._delimiter_op = op
                return Token(OP, op, i)
        j = i
        while j < n and src[j].isdigit():
            j += 1
        if j > i and j < n and src[j] in "<>":
            self.pos = j
            return Token(IO_NUMBER, src[i:j], i)
        parts, end = _Scanner(src, self).word(i)
        self.pos = end
        word = Word(src[i:end], tuple(parts))
        token = Token(WORD, word.raw, i, word)
        if self._delimiter_op is not None:
            token.heredoc = self._heredoc(word, self._delimiter_op)
            self._delimiter_op = None
        return token

    def _heredoc(self, word: Word, op: str) -> HereDoc:
        """Register the here-document that ``word`` (after ``op``) delimits."""
        quoted = any(not isinstance(p, Lit) for p in word.parts)
        delimiter = "".join(_literal_text(p) for p in word.parts)
        doc = HereDoc(delimiter, strip_tabs=op == "<<-", expand=not quoted)
        self._pending.append(doc)
        return doc

    def _read_heredocs(self) -> None:
        """Read the bodies of the here-documents named on the line just ended."""
        src = self.src
        for doc in self._pending:
            lines: list[str] = []
            while True:
                if self.pos >= len(src):
                    raise self.eof_error()
                nl = src.find("\n", self.pos)
                end = len(src) if nl < 0 else nl
                line = src[self.pos : end]
                self.pos = min(end + 1, len(src))
                if doc.strip_tabs:
                    line = line.lstrip("\t")
                if line == doc.delimiter:
                    break
                if nl < 0:
                    raise self.eof_error()
                lines.append(line + "\n")
            doc.body = "".join(lines)
        self._pending.clear()


def _literal_text(part: Part) -> str:
    """A delimiter part's text after quote removal (expansions stay as written)."""
    if isinstance(part, Lit | Quoted):
        return part.text
    if isinstance(part, DQ):
        return "".join(_literal_text(p) for p in part.parts)
    if isinstance(part, Tilde):
        return "~" + part.user
    return ""


class _Scanner:
    """Cuts one word into parts (or a double-quoted string, a ``${...}`` word, a body).

    ``lexer`` is the enclosing lexer (for its errors).
    """

    def __init__(self, src: str, lexer: Lexer) -> None:
        self.src = src
        self.lexer = lexer
        self._buf: list[str] = []
        self._parts: list[Part] = []
        self._quoted_buf = False

    def _lit(self, text: str, quoted: bool) -> None:
        if self._buf and self._quoted_buf != quoted:
            self._flush()
        self._quoted_buf = quoted
        self._buf.append(text)

    def _flush(self) -> None:
        if self._buf:
            text = "".join(self._buf)
            self._parts.append(Quoted(text) if self._quoted_buf else Lit(text))
            self._buf = []

    def _part(self, part: Part) -> None:
        self._flush()
        self._parts.append(part)

    def _done(self) -> list[Part]:
        self._flush()
        return self._parts

    def word(self, i: int, *, brace: bool = False) -> tuple[list[Part], int]:
        """Scan a word from ``i``; returns the parts and the end offset.

        The word ends at the first unquoted metacharacter, or (``brace``) at the
        unbalanced ``}`` of a ``${...}``.
        """
        src, n = self.src, len(self.src)
        if not brace and i < n and src[i] == "~":
            j = i + 1
            while j < n and src[j] not in _META and src[j] not in "/\\'\"$`":
                j += 1
            if j >= n or src[j] in _META or src[j] == "/":
                self._part(Tilde(src[i + 1 : j]))
                i = j
        while i < n:
            c = src[i]
            if brace and c == "}":
                break
            if not brace and c in _META:
                break
            if c == "\\":
                if i + 1 >= n:
                    self._lit("\\", False)
                    i += 1
                elif src[i + 1] == "\n":
                    i += 2
                else:
                    self._lit(src[i + 1], True)
                    i += 2
            elif c == "'":
                end = src.find("'", i + 1)
                if end < 0:
                    raise self.lexer.eof_error()
                self._flush()
                self._parts.append(Quoted(src[i + 1 : end]))
                i = end + 1
            elif c == '"':
                parts, i = _Scanner(src, self.lexer).double(i + 1)
                self._part(DQ(tuple(parts)))
            else:
                i = self._special(i, quoted=False)
        return self._done(), i

    def double(self, i: int) -> tuple[list[Part], int]:
        """Scan a double-quoted string from after its ``"``.

        Returns the parts and the offset after the closing quote.
        """
        src, n = self.src, len(self.src)
        while True:
            if i >= n:
                raise self.lexer.eof_error()
            c = src[i]
            if c == '"':
                return self._done(), i + 1
            if c == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
                if src[i + 1] != "\n":
                    self._lit(src[i + 1], True)
                i += 2
            else:
                i = self._special(i, quoted=True)

    def text(self, i: int) -> list[Part]:
        r"""Scan to the end of the source as a here-document body or arithmetic text.

        ``$`` and backquotes expand, a backslash escapes only ``$ ` \\`` and newline.
        """
        src, n = self.src, len(self.src)
        while i < n:
            if src[i] == "\\" and i + 1 < n and src[i + 1] in "$`\\\n":
                if src[i + 1] != "\n":
                    self._lit(src[i + 1], True)
                i += 2
            else:
                i = self._special(i, quoted=True)
        return self._done()

    def _special(self, i: int, *, quoted: bool) -> int:
        """Scan a ``$`` or backquote construct at ``i`` (or one literal character)."""
        src = self.src
        c = src[i]
        if c == "`":
            return self._backquote(i)
        if c == "$" and i + 1 < len(src):
            nxt = src[i + 1]
            if nxt == "(":
                if src.startswith("((", i + 1):
                    end = _arith_end(src, i + 3)
                    if end is not None:
                        inner = _Scanner(src[i + 3 : end], self.lexer).text(0)
                        self._part(Arith(tuple(inner)))
                        return end + 2
                end = _cmdsub_end(src, i + 2, self.lexer)
                self._part(CmdSub(src[i + 2 : end]))
                return end + 1
            if nxt == "{":
                return self._brace_param(i + 2)
            if nxt in _SPECIAL_PARAMS:
                self._part(Param(nxt))
                return i + 2
            if nxt.isalpha() or nxt == "_":
                j = i + 1
                while j < len(src) and (src[j].isalnum() or src[j] == "_") and src[j].isascii():
                    j += 1
                self._part(Param(src[i + 1 : j]))
                return j
        self._lit(c, quoted)
        return i + 1

    def _backquote(self, i: int) -> int:
        src, n = self.src, len(self.src)
        out: list[str] = []
        j = i + 1
        while True:
            if j >= n:
                raise self.lexer.eof_error()
            c = src[j]
            if c == "`":
                break
            if c == "\\" and j + 1 < n and src[j + 1] in "$`\\":
                out.append(src[j + 1])
                j += 2
            else:
                out.append(c)
                j += 1
        self._part(CmdSub("".join(out)))
        return j + 1

    def _brace_param(self, i: int) -> int:
        """Scan ``${...}`` from after the brace; returns the offset after ``}``."""
        src, n = self.src, len(self.src)
        length = False
        if i < n and src[i] == "#" and i + 1 < n and src[i + 1] != "}":
            length = True
            i += 1
        j = i
        if j < n and src[j] in _SPECIAL_PARAMS and not src[j].isdigit():
            j += 1
        else:
            while j < n and (src[j].isalnum() or src[j] == "_") and src[j].isascii():
                j += 1
        name = src[i:j]
        if j >= n:
            raise self.lexer.eof_error()
        if not name or (not is_name(name) and not name.isdigit() and name not in _SPECIAL_PARAMS):
            raise ShSyntaxError("'${'", line=self.lexer.line_of(i))
        if length:
            if src[j] != "}":
                raise ShSyntaxError("'${'", line=self.lexer.line_of(i))
            self._part(Param(name, "length"))
            return j + 1
        if src[j] == "}":
            self._part(Param(name))
            return j + 1
        for op in (":-", ":=", ":?", ":+", "-", "=", "?", "+", "##", "#", "%%", "%"):
            if src.startswith(op, j):
                break
        else:
            raise ShSyntaxError("'${'", line=self.lexer.line_of(i))
        parts, end = _Scanner(src, self.lexer).word(j + len(op), brace=True)
        if end >= n:
            raise self.lexer.eof_error()
        self._part(Param(name, op, Word(src[j + len(op) : end], tuple(parts))))
        return end + 1


def _arith_end(src: str, i: int) -> int | None:
    """The offset of the ``))`` closing an arithmetic expansion whose text starts at ``i``.

    None when the parentheses do not balance that way: then ``$((`` is a command
    substitution of a subshell.
    """
    depth = 0
    while i < len(src):
        c = src[i]
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return i if src.startswith("))", i) else None
            depth -= 1
        i += 1
    return None


def _cmdsub_end(src: str, i: int, outer: Lexer) -> int:
    """The offset of the ``)`` closing a command substitution whose text starts at ``i``.

    Lex the inner text (so quotes, comments and ``case`` patterns count).
    """
    lexer = Lexer(src, i)
    depth = 0
    in_case = 0
    while True:
        try:
            tok = lexer.next()
        except ShSyntaxError as exc:
            exc.line = outer.line_of(len(src))
            raise
        if tok.kind == EOF:
            raise outer.eof_error()
        if tok.kind == WORD and tok.text == "case":
            in_case += 1
        elif tok.kind == WORD and tok.text == "esac":
            in_case -= 1
        elif tok.kind == OP and tok.text == "(":
            depth += 1
        elif tok.kind == OP and tok.text == ")":
            if depth == 0 and in_case <= 0:
                return tok.pos
            if depth > 0:
                depth -= 1


def heredoc_parts(body: str) -> tuple[Part, ...]:
    """A here-document body cut into parts (for a delimiter written unquoted)."""
    return tuple(_Scanner(body, Lexer(body)).text(0))
