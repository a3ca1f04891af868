"""The pure helpers of the file and text commands: modes, patterns, columns, dumps."""

from __future__ import annotations

import re
import string

import pytest

from userland.bin._common import apply_mode, lines_of, mode_string
from userland.bin.grep import translate
from userland.bin.ls import _columns
from userland.bin.od import dump
from userland.charclass import CLASSES
from userland.sh import pattern


@pytest.mark.parametrize(
    ("spec", "mode", "mask", "is_dir", "want"),
    [
        ("755", 0, 0, False, 0o755),
        ("4755", 0, 0, False, 0o4755),
        ("u+x,go-w", 0o666, 0, False, 0o744),
        ("a=r", 0o777, 0, False, 0o444),
        ("+x", 0o644, 0o022, False, 0o755),
        ("+w", 0o444, 0o022, False, 0o644),
        ("g=u", 0o640, 0, False, 0o660),
        ("o+X", 0o600, 0, False, 0o600),
        ("o+X", 0o600, 0, True, 0o601),
        ("o+X", 0o700, 0, False, 0o701),
        ("u+s,g+s,+t", 0o755, 0, False, 0o7755),
        ("u=rw,g=r,o=", 0o777, 0, False, 0o640),
        ("ug-x+r", 0o711, 0, False, 0o641),
    ],
)
def test_apply_mode(spec, mode, mask, is_dir, want) -> None:
    assert apply_mode(spec, mode, mask, is_dir=is_dir) == want


@pytest.mark.parametrize("spec", ["", "8", "77777", "x", "u", "u+q", "z+x", "u+x,", "+ug"])
def test_apply_mode_rejects(spec) -> None:
    assert apply_mode(spec, 0o644) is None


def test_mode_string() -> None:
    assert mode_string(0o40755) == "drwxr-xr-x"
    assert mode_string(0o41777) == "drwxrwxrwt"
    assert mode_string(0o41776) == "drwxrwxrwT"
    assert mode_string(0o106744) == "-rwsr-Sr--"
    assert mode_string(0o120777) == "lrwxrwxrwx"
    assert mode_string(0o20620) == "crw--w----"
    assert mode_string(0o10644) == "prw-r--r--"


def test_lines_of() -> None:
    assert lines_of(b"") == []
    assert lines_of(b"a\n\nb") == [b"a\n", b"\n", b"b"]
    assert lines_of(b"a\rb\n") == [b"a\rb\n"]


@pytest.mark.parametrize(
    ("pattern", "extended", "want"),
    [
        ("a+b?", False, r"a\+b\?"),
        (r"a\+b\?", False, "a+b?"),
        (r"\(x\)\{2\}\1", False, r"(x){2}\1"),
        ("(x|y){2}", True, "(x|y){2}"),
        ("*a", False, r"\*a"),
        ("^*a", False, r"^\*a"),
        ("[[:digit:]x]", False, "[0-9x]"),
        ("[^]a]", False, r"[^\]a]"),
        ("[a\\]", True, r"[a\\]"),
    ],
)
def test_translate(pattern, extended, want) -> None:
    assert translate(pattern, extended) == want


def test_columns_fill_down_then_across() -> None:
    names = ["a", "bb", "ccc", "d", "e"]
    assert _columns(names, 12) == "a    d\nbb   e\nccc\n"
    assert _columns(names, 80) == "a    bb   ccc  d    e\n"
    assert _columns(["long-name"], 4) == "long-name\n"


def test_od_dump_suppresses_repeats_and_pads() -> None:
    assert dump(b"\x01", "o", 2, "o", False) == "0000000 000001\n0000001\n"
    assert dump(b"ab" * 16 + b"c", "x", 1, "n", False) == (
        " 61 62 61 62 61 62 61 62 61 62 61 62 61 62 61 62\n*\n 63\n"
    )


_MEMBERS = {
    "alpha": str.isalpha,
    "digit": str.isdigit,
    "alnum": str.isalnum,
    "upper": str.isupper,
    "lower": str.islower,
    "space": lambda c: c in " \t\n\r\f\v",
    "blank": lambda c: c in " \t",
    "punct": lambda c: c in string.punctuation,
    "xdigit": lambda c: c in string.hexdigits,
    "cntrl": lambda c: ord(c) < 32 or ord(c) == 127,
    "graph": lambda c: 33 <= ord(c) <= 126,
    "print": lambda c: 32 <= ord(c) <= 126,
}


@pytest.mark.parametrize("name", sorted(_MEMBERS))
def test_character_classes_in_grep_and_shell_patterns(name):
    # the twelve POSIX classes, ASCII in the POSIX locale, same in both translators
    assert set(CLASSES) == set(_MEMBERS)
    grep_class = re.compile(translate(f"[[:{name}:]]", extended=False))
    for c in map(chr, range(128)):
        want = _MEMBERS[name](c)
        assert (grep_class.fullmatch(c) is not None) == want, (name, c)
        assert pattern.match(f"[[:{name}:]]", c) == want, (name, c)
        assert pattern.match(f"[![:{name}:]]", c) != want, (name, c)
