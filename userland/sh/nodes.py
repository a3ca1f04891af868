"""The shell's syntax tree: words and their parts, commands, lists.

The lexer (:mod:`userland.sh.lex`) cuts a word into parts once, when it is read;
the parser (:mod:`userland.sh.parse`) builds commands from words; the expander
(:mod:`userland.sh.expand`) and the executor (:mod:`userland.sh.exec`) walk the
tree. Nodes are immutable except for the two caches filled on first use: a
here-document's body (read by the lexer after the line that names it) and the
parsed program of a command substitution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# -- word parts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    """Unquoted literal text (subject to pathname expansion; never split)."""

    text: str


@dataclass(frozen=True, slots=True)
class Quoted:
    """Quoted literal text: single quotes or a backslash-escaped character."""

    text: str


@dataclass(frozen=True, slots=True)
class DQ:
    """A double-quoted string: its parts expand but are neither split nor globbed."""

    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter expansion ``$name`` / ``${name OP word}`` / ``${#name}``.

    ``op`` is "" (plain), "length" (``${#name}``), one of ``- = ? +`` with or without a
    leading colon, or a pattern removal ``# ## % %%``.
    """

    name: str
    op: str = ""
    word: Word | None = None


@dataclass(slots=True)
class CmdSub:
    """A command substitution ``$(...)`` or backquotes; ``program`` caches the parse."""

    source: str
    program: Program | None = None


@dataclass(frozen=True, slots=True)
class Arith:
    """An arithmetic expansion ``$((...))``; its text expands like a double-quoted string."""

    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Tilde:
    """A leading ``~`` or ``~user`` (the user part is empty for ``~``)."""

    user: str


Part = Lit | Quoted | DQ | Param | CmdSub | Arith | Tilde


@dataclass(frozen=True, slots=True)
class Word:
    """A word as written (``raw``) and as cut into parts."""

    raw: str
    parts: tuple[Part, ...]


# -- redirections --------------------------------------------------------------------------


@dataclass(slots=True)
class HereDoc:
    """A here-document: its body arrives after the line holding ``<<``."""

    delimiter: str
    strip_tabs: bool
    expand: bool
    body: str | None = None
    parts: tuple[Part, ...] | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    """``[fd] OP target``; ``op`` is one of ``< > >> <> >| <& >& << <<-``."""

    fd: int
    op: str
    target: Word | HereDoc


# -- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Simple:
    """A simple command: assignments, words, redirections."""

    assigns: tuple[tuple[str, Word], ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Commands joined by ``|``; ``bang`` inverts the status."""

    commands: tuple[Command, ...]
    bang: bool = False
    text: str = ""


@dataclass(frozen=True, slots=True)
class AndOr:
    """Pipelines joined by ``&&`` / ``||`` (evaluated left to right)."""

    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...] = ()


@dataclass(frozen=True, slots=True)
class Item:
    """One and-or list of a sequence, and whether it runs in the background (``&``)."""

    body: AndOr
    background: bool = False
    text: str = ""


@dataclass(frozen=True, slots=True)
class Sequence:
    """A compound list: and-or lists run one after another."""

    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class If:
    """``if`` ... ``then`` ... (``elif`` ... ``then`` ...)* (``else`` ...)? ``fi``."""

    arms: tuple[tuple[Sequence, Sequence], ...]
    orelse: Sequence | None
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Loop:
    """``while``/``until`` COND ``do`` BODY ``done``."""

    until: bool
    cond: Sequence
    body: Sequence
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class For:
    """``for NAME [in WORD...]; do BODY; done`` (no ``in``: the positional parameters)."""

    name: str
    words: tuple[Word, ...] | None
    body: Sequence
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    """``case WORD in (PATTERN|...) BODY ;; ... esac``."""

    word: Word
    arms: tuple[tuple[tuple[Word, ...], Sequence], ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Group:
    """``{ LIST; }``: runs in the current shell."""

    body: Sequence
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Subshell:
    """``( LIST )``: runs in a forked copy of the shell."""

    body: Sequence
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class FuncDef:
    """``name() COMPOUND``: defines a function."""

    name: str
    body: Command


Command = Simple | If | Loop | For | Case | Group | Subshell | FuncDef


@dataclass(frozen=True, slots=True)
class Program:
    """A whole parsed text: its complete commands in order."""

    commands: tuple[Sequence, ...] = field(default=())
