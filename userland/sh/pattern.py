"""Shell patterns: matching (``case``, ``${x#pat}``) and pathname expansion (globbing).

A pattern is text in which ``*``, ``?`` and ``[...]`` (``[!...]`` negated,
ranges, ``[:class:]``) are special and a backslash makes the next character
literal; the expander escapes quoted characters that way. :func:`match` compares
a whole string. :func:`glob` expands a pathname pattern against the file system
component by component through ``libc.listdir``: ``/`` is never matched by a
wildcard and a leading ``.`` only by a literal dot, as POSIX requires (which is
why Python's ``fnmatch`` does not fit).
"""

from __future__ import annotations

import functools
import re

from userland import libc
from userland.charclass import class_at


def has_magic(pattern: str) -> bool:
    """Whether ``pattern`` holds an unescaped ``*``, ``?`` or ``[``."""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c in "*?[":
            return True
        i += 1
    return False


def unescape(pattern: str) -> str:
    """``pattern`` with its escaping backslashes removed (the literal it stands for)."""
    return re.sub(r"\\(.)", r"\1", pattern, flags=re.DOTALL)


def escape(text: str) -> str:
    """``text`` as a pattern that matches only itself."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def _bracket(pattern: str, i: int) -> tuple[str, int] | None:
    """The regex class for the bracket expression at ``pattern[i] == '['``, and its end.

    None when it is not closed: then ``[`` is literal.
    """
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    out: list[str] = []
    first = True
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and not first:
            body = "".join(out)
            return (f"[^{body}]" if negate else f"[{body}]"), j + 1
        first = False
        if found := class_at(pattern, j):
            out.append(found[0])
            j = found[1]
            continue
        if c == "\\" and j + 1 < len(pattern):
            j += 1
            c = pattern[j]
        if j + 2 < len(pattern) and pattern[j + 1] == "-" and pattern[j + 2] != "]":
            hi = pattern[j + 2]
            if hi == "\\" and j + 3 < len(pattern):
                hi = pattern[j + 3]
                j += 1
            out.append(f"{re.escape(c)}-{re.escape(hi)}")
            j += 3
            continue
        out.append(re.escape(c))
        j += 1
    return None


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "*":
            out.append(".*")
            i += 1
        elif c == "?":
            out.append(".")
            i += 1
        elif c == "[" and (found := _bracket(pattern, i)) is not None:
            out.append(found[0])
            i = found[1]
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def match(pattern: str, text: str) -> bool:
    """Whether all of ``text`` matches ``pattern``."""
    return _compile(pattern).fullmatch(text) is not None


def matching_prefix(pattern: str, text: str, longest: bool) -> int | None:
    """The length of the shortest (or longest) prefix of ``text`` matching ``pattern``."""
    sizes = range(len(text), -1, -1) if longest else range(len(text) + 1)
    for n in sizes:
        if match(pattern, text[:n]):
            return n
    return None


def matching_suffix(pattern: str, text: str, longest: bool) -> int | None:
    """The start of the shortest (or longest) suffix of ``text`` matching ``pattern``."""
    starts = range(len(text) + 1) if longest else range(len(text), -1, -1)
    for start in starts:
        if match(pattern, text[start:]):
            return start
    return None


async def glob(pattern: str) -> list[str]:
    """The paths matching ``pattern``, sorted; empty when none does."""
    components = pattern.split("/")
    paths = ["/"] if pattern.startswith("/") else [""]
    if pattern.startswith("/"):
        components = components[1:]
    for k, comp in enumerate(components):
        last = k == len(components) - 1
        if comp == "":
            if last:
                paths = [p for p in paths if await _is_dir(p)]
                paths = [p + "/" if not p.endswith("/") else p for p in paths]
            continue
        if not has_magic(comp):
            literal = unescape(comp)
            paths = [_join(p, literal) for p in paths]
            if last:
                paths = [p for p in paths if await _exists(p)]
            continue
        found: list[str] = []
        for p in paths:
            try:
                names = await libc.listdir(p or ".")
            except OSError:
                continue
            dot_ok = comp.startswith((".", "\\."))
            found += [
                _join(p, n)
                for n in sorted(str(n) for n in names)
                if (dot_ok or not n.startswith(".")) and match(comp, n)
            ]
        paths = found
        if not paths:
            break
    return sorted(paths)


def _join(base: str, name: str) -> str:
    if not base:
        return name
    return base + name if base.endswith("/") else f"{base}/{name}"


async def _exists(path: str) -> bool:
    try:
        await libc.lstat(path)
    except OSError:
        return False
    return True


async def _is_dir(path: str) -> bool:
    try:
        st = await libc.stat(path or ".")
    except OSError:
        return False
    return libc.S_ISDIR(st.st_mode)
