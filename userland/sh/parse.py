"""The parser: recursive descent over the lexer's tokens, building :mod:`nodes`.

The grammar is POSIX sh's (XCU 2.10) without aliases::

    program       : linebreak (complete_command newline_list)* EOF
    list          : and_or ((';' | '&') and_or)* [';' | '&']
    and_or        : pipeline (('&&' | '||') linebreak pipeline)*
    pipeline      : ['!'] command ('|' linebreak command)*
    command       : compound redirect* | NAME '(' ')' linebreak compound redirect*
                  | simple
    compound      : '{' list '}' | '(' list ')' | if | while | until | for | case

Reserved words are words written exactly so, unquoted, where a command starts.
:meth:`Parser.next_command` returns one complete command (one line's list) at a
time, so a script runs command by command.
"""

from __future__ import annotations

from typing import Final

from userland.sh.lex import EOF, IO_NUMBER, NEWLINE, OP, WORD, Lexer, ShSyntaxError, Token, is_name
from userland.sh.nodes import (
    AndOr,
    Case,
    Command,
    For,
    FuncDef,
    Group,
    If,
    Item,
    Lit,
    Loop,
    Pipeline,
    Program,
    Redirect,
    Sequence,
    Simple,
    Subshell,
    Word,
)

RESERVED: Final = frozenset(
    (
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "do",
        "done",
        "case",
        "esac",
        "while",
        "until",
        "for",
        "{",
        "}",
        "!",
        "in",
    )
)
_REDIRECT_OPS: Final = frozenset(("<", ">", ">>", "<>", ">|", "<&", ">&", "<<", "<<-"))


class Parser:
    """Commands parsed from ``src`` on demand."""

    def __init__(self, src: str) -> None:
        self.src = src
        self._lexer = Lexer(src)
        self._ahead: list[Token] = []

    # -- tokens --------------------------------------------------------------------------

    def _peek(self, k: int = 0) -> Token:
        while len(self._ahead) <= k:
            self._ahead.append(self._lexer.next())
        return self._ahead[k]

    def _advance(self) -> Token:
        tok = self._peek()
        self._ahead.pop(0)
        return tok

    def _error(self, tok: Token) -> ShSyntaxError:
        line = self._lexer.line_of(tok.pos)
        if tok.kind == EOF:
            return ShSyntaxError("end of file", at_eof=True, line=line)
        if tok.kind == NEWLINE:
            return ShSyntaxError("newline", line=line)
        return ShSyntaxError(f"'{tok.text}'", line=line)

    def _is_op(self, text: str, k: int = 0) -> bool:
        tok = self._peek(k)
        return tok.kind == OP and tok.text == text

    def _is_reserved(self, *words: str) -> bool:
        tok = self._peek()
        return tok.kind == WORD and tok.text in words

    def _expect_reserved(self, word: str) -> None:
        if not self._is_reserved(word):
            raise self._error(self._peek())
        self._advance()

    def _expect_op(self, op: str) -> None:
        if not self._is_op(op):
            raise self._error(self._peek())
        self._advance()

    def _linebreak(self) -> None:
        while self._peek().kind == NEWLINE:
            self._advance()

    # -- lists ---------------------------------------------------------------------------

    def next_command(self) -> Sequence | None:
        """The next complete command (one line's list), or None at the end of input.

        Raises:
            ShSyntaxError: the text is not valid shell (``at_eof``: it ended early).
        """
        self._linebreak()
        if self._peek().kind == EOF:
            return None
        items: list[Item] = []
        while True:
            items.append(self._item())
            if self._peek().kind in (NEWLINE, EOF):
                break
        tok = self._advance()
        if tok.kind not in (NEWLINE, EOF):
            raise self._error(tok)
        return Sequence(tuple(items))

    def parse_all(self) -> Program:
        """Every command up to the end of input."""
        commands: list[Sequence] = []
        while (command := self.next_command()) is not None:
            commands.append(command)
        return Program(tuple(commands))

    def _item(self) -> Item:
        """An and-or list and its separator (``;``, ``&`` or none before a newline)."""
        start = self._peek().pos
        body = self._and_or()
        end = self._peek().pos
        background = False
        if self._is_op("&") or self._is_op(";"):
            background = self._advance().text == "&"
        elif self._peek().kind not in (NEWLINE, EOF):
            raise self._error(self._peek())
        return Item(body, background, self.src[start:end].strip())

    def _compound_list(self, *enders: str, allow_empty: bool = False) -> Sequence:
        """A list inside a compound command, up to one of the ``enders``.

        The enders are reserved words, or the operators ``)`` and ``;;``.
        """
        items: list[Item] = []
        self._linebreak()
        while True:
            tok = self._peek()
            if tok.kind == EOF or (tok.kind == WORD and tok.text in enders):
                break
            if tok.kind == OP and tok.text in enders:
                break
            start = tok.pos
            body = self._and_or()
            end = self._peek().pos
            background = False
            if self._is_op("&") or self._is_op(";"):
                background = self._advance().text == "&"
            elif self._peek().kind != NEWLINE:
                items.append(Item(body, background, self.src[start:end].strip()))
                break
            items.append(Item(body, background, self.src[start:end].strip()))
            self._linebreak()
        if not items and not allow_empty:
            raise self._error(self._peek())
        return Sequence(tuple(items))

    def _and_or(self) -> AndOr:
        first = self._pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while self._is_op("&&") or self._is_op("||"):
            op = self._advance().text
            self._linebreak()
            rest.append((op, self._pipeline()))
        return AndOr(first, tuple(rest))

    def _pipeline(self) -> Pipeline:
        start = self._peek().pos
        bang = False
        if self._is_reserved("!"):
            self._advance()
            bang = True
        commands = [self._command()]
        while self._is_op("|"):
            self._advance()
            self._linebreak()
            commands.append(self._command())
        return Pipeline(tuple(commands), bang, self.src[start : self._peek().pos].strip())

    # -- commands ------------------------------------------------------------------------

    def _command(self) -> Command:
        tok = self._peek()
        if tok.kind == WORD and tok.text in RESERVED:
            if tok.text == "if":
                return self._if()
            if tok.text in ("while", "until"):
                return self._loop()
            if tok.text == "for":
                return self._for()
            if tok.text == "case":
                return self._case()
            if tok.text == "{":
                return self._group()
            raise self._error(tok)
        if self._is_op("("):
            return self._subshell()
        if tok.kind == WORD and self._is_op("(", 1):
            return self._funcdef()
        return self._simple()

    def _redirects(self) -> tuple[Redirect, ...]:
        out: list[Redirect] = []
        while (r := self._redirect()) is not None:
            out.append(r)
        return tuple(out)

    def _redirect(self) -> Redirect | None:
        tok = self._peek()
        fd: int | None = None
        if tok.kind == IO_NUMBER:
            fd = int(tok.text)
            self._advance()
            tok = self._peek()
        if tok.kind != OP or tok.text not in _REDIRECT_OPS:
            if fd is not None:
                raise self._error(tok)
            return None
        op = self._advance().text
        target = self._peek()
        if target.kind != WORD or target.word is None:
            raise self._error(target)
        self._advance()
        if fd is None:
            fd = 0 if op[0] == "<" and op != "<>" else 1
            if op == "<>":
                fd = 0
        if target.heredoc is not None:
            return Redirect(fd, op, target.heredoc)
        return Redirect(fd, op, target.word)

    def _simple(self) -> Simple:
        assigns: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            r = self._redirect()
            if r is not None:
                redirects.append(r)
                continue
            tok = self._peek()
            if tok.kind != WORD or tok.word is None:
                break
            self._advance()
            name, eq, _ = tok.text.partition("=")
            if not words and eq and is_name(name):
                assigns.append((name, _value_word(tok.word, len(name) + 1)))
            else:
                words.append(tok.word)
        if not (assigns or words or redirects):
            raise self._error(self._peek())
        return Simple(tuple(assigns), tuple(words), tuple(redirects))

    def _if(self) -> If:
        self._advance()
        arms: list[tuple[Sequence, Sequence]] = []
        orelse: Sequence | None = None
        while True:
            cond = self._compound_list("then")
            self._expect_reserved("then")
            body = self._compound_list("elif", "else", "fi")
            arms.append((cond, body))
            if self._is_reserved("elif"):
                self._advance()
                continue
            if self._is_reserved("else"):
                self._advance()
                orelse = self._compound_list("fi")
            self._expect_reserved("fi")
            return If(tuple(arms), orelse, self._redirects())

    def _loop(self) -> Loop:
        until = self._advance().text == "until"
        cond = self._compound_list("do")
        body = self._do_group()
        return Loop(until, cond, body, self._redirects())

    def _do_group(self) -> Sequence:
        self._expect_reserved("do")
        body = self._compound_list("done")
        self._expect_reserved("done")
        return body

    def _for(self) -> For:
        self._advance()
        tok = self._peek()
        if tok.kind != WORD or not is_name(tok.text):
            raise self._error(tok)
        name = self._advance().text
        words: tuple[Word, ...] | None = None
        self._linebreak()
        if self._is_reserved("in"):
            self._advance()
            collected: list[Word] = []
            while (w := self._peek()).kind == WORD and w.word is not None:
                collected.append(w.word)
                self._advance()
            words = tuple(collected)
            if not self._is_op(";") and self._peek().kind != NEWLINE:
                raise self._error(self._peek())
            self._advance()
        elif self._is_op(";"):
            self._advance()
        self._linebreak()
        body = self._do_group()
        return For(name, words, body, self._redirects())

    def _case(self) -> Case:
        self._advance()
        tok = self._peek()
        if tok.kind != WORD or tok.word is None:
            raise self._error(tok)
        self._advance()
        self._linebreak()
        self._expect_reserved("in")
        self._linebreak()
        arms: list[tuple[tuple[Word, ...], Sequence]] = []
        while not self._is_reserved("esac"):
            if self._is_op("("):
                self._advance()
            patterns: list[Word] = []
            while True:
                pat = self._peek()
                if pat.kind != WORD or pat.word is None:
                    raise self._error(pat)
                patterns.append(pat.word)
                self._advance()
                if not self._is_op("|"):
                    break
                self._advance()
            self._expect_op(")")
            body = self._compound_list("esac", ";;", allow_empty=True)
            arms.append((tuple(patterns), body))
            if self._is_op(";;"):
                self._advance()
                self._linebreak()
            elif not self._is_reserved("esac"):
                raise self._error(self._peek())
        self._advance()
        return Case(tok.word, tuple(arms), self._redirects())

    def _group(self) -> Group:
        self._advance()
        body = self._compound_list("}")
        self._expect_reserved("}")
        return Group(body, self._redirects())

    def _subshell(self) -> Subshell:
        self._advance()
        body = self._compound_list(")")
        self._expect_op(")")
        return Subshell(body, self._redirects())

    def _funcdef(self) -> FuncDef:
        tok = self._advance()
        if not is_name(tok.text) or tok.text in RESERVED:
            raise self._error(self._peek())
        self._advance()
        self._expect_op(")")
        self._linebreak()
        body = self._command()
        if isinstance(body, Simple | FuncDef):
            raise self._error(self._peek())
        return FuncDef(tok.text, body)


def _value_word(word: Word, skip: int) -> Word:
    """The value part of an assignment word ``NAME=value`` (``skip`` characters in)."""
    parts = list(word.parts)
    first = parts[0]
    assert isinstance(first, Lit)
    rest = first.text[skip:]
    parts[0:1] = [Lit(rest)] if rest else []
    return Word(word.raw[skip:], tuple(parts))


def parse(src: str) -> Program:
    """Parse all of ``src``.

    Raises:
        ShSyntaxError: as :meth:`Parser.next_command`.
    """
    return Parser(src).parse_all()
