"""POSIX character classes (``[:alpha:]``...) inside bracket expressions.

``grep`` (regular expressions) and the shell (``case`` and glob patterns) both
translate a bracket expression into a Python :mod:`re` class; this module is the
one place that knows the twelve class names and their members in the POSIX
locale (ASCII). Pure computation: no system calls.
"""

from __future__ import annotations

import re
from typing import Final

CLASSES: Final = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\n\r\f\v",
    "blank": r" \t",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "xdigit": "0-9A-Fa-f",
    "cntrl": r"\x00-\x1f\x7f",
    "graph": "!-~",
    "print": " -~",
}
"""Each class's members, written as the inside of a Python ``re`` class."""


def class_at(text: str, i: int) -> tuple[str, int] | None:
    """The class ``[:name:]`` written at ``text[i]``: its members and where it ends.

    None when no known class is written there (the ``[`` is then an ordinary
    member of the bracket expression).
    """
    if not text.startswith("[:", i):
        return None
    end = text.find(":]", i + 2)
    members = CLASSES.get(text[i + 2 : end]) if end > 0 else None
    return None if members is None else (members, end + 2)
