"""Word expansion, patterns and arithmetic (pure: a fake shell supplies variables)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from userland.sh import arith, pattern
from userland.sh.expand import ExpansionError, expand_pattern, expand_word, expand_words
from userland.sh.parse import parse


class FakeShell:
    """Variables in a dict; a command substitution outputs its text upper-cased."""

    def __init__(self, positional=(), **variables):
        self.vars = dict(variables)
        self.positional = list(positional)

    def lookup(self, name):
        if name == "#":
            return str(len(self.positional))
        if name.isdigit():
            n = int(name)
            return self.positional[n - 1] if 0 < n <= len(self.positional) else None
        return self.vars.get(name)

    def assign(self, name, value):
        self.vars[name] = value

    async def substitute(self, sub):
        return sub.source.upper() + "\n\n"

    async def home_of(self, user):
        return {"": "/home/me", "root": "/root"}.get(user)


def words_of(src):
    """The words of a one-command text (its command name included)."""
    (seq,) = parse(src).commands
    return seq.items[0].body.first.commands[0].words


async def fields(src, ctx=None):
    return await expand_words(ctx or FakeShell(), words_of(src))


async def test_quoting_and_parameters():
    ctx = FakeShell(x="a b", e="", star="*")
    assert await fields("""echo 'q $x' "$x" $x \\$x "" $e "$e" $star""", ctx) == [
        "echo",
        "q $x",
        "a b",
        "a",
        "b",
        "$x",
        "",
        "",
        "*",  # no file system here: a pattern that matches nothing stays
    ]


async def test_parameter_operators():
    ctx = FakeShell(x="val", e="", p="/a/b.c/d.txt")
    got = await fields(
        "echo ${x:-d} ${u:-d} ${e:-d} ${e-d} ${x:+alt} ${u:+alt} ${#x} ${p##*/} ${p#*/} "
        "${p%.*} ${p%%.*} ${u:=new} $u",
        ctx,
    )
    assert got == [
        "echo",
        "val",
        "d",
        "d",
        "alt",
        "3",
        "d.txt",
        "a/b.c/d.txt",
        "/a/b.c/d",
        "/a/b",
        "new",
        "new",
    ]
    with pytest.raises(ExpansionError, match=r"^z: parameter null or not set$"):
        await fields("echo ${z:?}", ctx)
    with pytest.raises(ExpansionError, match=r"^1: cannot assign in this way$"):
        await fields("echo ${1:=x}", ctx)
    with pytest.raises(ExpansionError, match=r"^e: custom message$"):
        await fields("echo ${e:?custom message}", ctx)


async def test_positional_parameters():
    ctx = FakeShell(["a b", "", "c"])
    assert await fields('echo "$@"', ctx) == ["echo", "a b", "", "c"]
    assert await fields("echo $@", ctx) == ["echo", "a", "b", "c"]
    assert await fields('echo "$*"', ctx) == ["echo", "a b  c"]
    assert await fields('echo "x$@y"', ctx) == ["echo", "xa b", "", "cy"]
    assert await fields('echo "$@"', FakeShell()) == ["echo"]
    assert await fields("echo $# $1 ${3}", ctx) == ["echo", "3", "a", "b", "c"]


async def test_command_substitution_and_arithmetic():
    ctx = FakeShell(n="6")
    assert await fields('echo $(a b) "$(c d)" `e`', ctx) == ["echo", "A", "B", "C D", "E"]
    assert await fields('echo $((n * 7)) "$(( (1 + 2) << 2 ))"', ctx) == ["echo", "42", "12"]


async def test_field_splitting_with_ifs():
    ctx = FakeShell(v=" a  b ", c="a::b:", IFS=":")
    assert await fields("echo $c", ctx) == ["echo", "a", "", "b"]
    ctx.vars["IFS"] = ""
    assert await fields("echo $v", ctx) == ["echo", " a  b "]
    del ctx.vars["IFS"]
    assert await fields("echo $v", ctx) == ["echo", "a", "b"]
    assert await fields("echo x${v}y", ctx) == ["echo", "x", "a", "b", "y"]


async def test_tilde():
    assert await fields("echo ~ ~/x ~root ~nobody '~' a~", FakeShell()) == [
        "echo",
        "/home/me",
        "/home/me/x",
        "/root",
        "~nobody",
        "~",
        "a~",
    ]


async def test_single_string_and_pattern_expansion():
    ctx = FakeShell(x="a b*")
    (word,) = words_of("echo $x'*'\\?[a]")[1:]
    assert await expand_word(ctx, word) == "a b**?[a]"
    assert await expand_pattern(ctx, word) == "a b*\\*\\?[a]"


def test_pattern_matching():
    assert pattern.match("*.c", "x.c")
    assert not pattern.match("*.c", "x.h")
    assert pattern.match("[!a-c]?", "dz")
    assert not pattern.match("[!a-c]?", "bz")
    assert pattern.match("[[:digit:]]x", "7x")
    assert pattern.match("\\*", "*")
    assert not pattern.match("\\*", "a")
    assert pattern.match("[", "[")  # an unclosed bracket is literal
    assert pattern.match("a[]]b", "a]b")


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-7 / 2", -3),
        ("-7 % 2", -1),
        ("1 << 4 | 1", 17),
        ("3 > 2 && 2 > 3", 0),
        ("0 || 5", 1),
        ("!0 + ~0", 0),
        ("010 + 0x10", 24),
        ("1 ? 2 : 3", 2),
        ("0 ? 2 : 3", 3),
        ("x = 5", 5),
        ("y += 2", 9),
        ("9223372036854775807 + 1", -(2**63)),
        ("", 0),
        ("ref", 7),
    ],
)
def test_arithmetic(expr, value):
    ctx = FakeShell(y="7", ref="y")
    assert arith.evaluate(expr, ctx) == value


def test_arithmetic_short_circuits_and_errors():
    ctx = FakeShell()
    assert arith.evaluate("0 && (x = 1)", ctx) == 0
    assert "x" not in ctx.vars
    with pytest.raises(arith.ArithError, match="division by zero"):
        arith.evaluate("1 / 0", ctx)
    with pytest.raises(arith.ArithError, match="syntax error"):
        arith.evaluate("1 +", ctx)
    with pytest.raises(arith.ArithError, match="syntax error"):
        arith.evaluate("1 $ 2", ctx)


# -- properties ---------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"))


@given(text)
async def test_single_quoting_round_trips(s):
    quoted = "'" + s.replace("'", "'\\''") + "'"
    assert await fields("echo " + quoted) == ["echo", s]


@given(text.filter(lambda s: "\n" not in s and s))
async def test_backslash_escaping_round_trips(s):
    escaped = "".join("\\" + c for c in s)
    assert await fields("echo " + escaped) == ["echo", s]


@given(text)
async def test_double_quoting_round_trips(s):
    escaped = "".join("\\" + c if c in '$`"\\' else c for c in s)
    assert await fields('echo "' + escaped + '"') == ["echo", s]


@given(st.lists(st.text("abc", min_size=1), min_size=1), st.lists(st.text(" \t\n", min_size=1)))
async def test_unquoted_expansion_splits_on_white_space(words, gaps):
    value = words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=False))
    value = (gaps[0] if gaps else "") + value
    n = min(len(words), len(gaps) + 1)
    assert await fields("echo $v", FakeShell(v=value)) == ["echo", *words[:n]]


@given(text)
def test_an_escaped_pattern_matches_only_itself(s):
    assert pattern.match(pattern.escape(s), s)
    assert not pattern.match(pattern.escape(s), s + "x")


small = st.integers(-1000, 1000)


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        n = draw(small)
        return str(n) if n >= 0 else f"({n})", n
    left, lv = draw(expressions(depth=depth - 1))
    right, rv = draw(expressions(depth=depth - 1))
    op = draw(st.sampled_from(["+", "-", "*", "<", "==", "&"]))
    value = {
        "+": lv + rv,
        "-": lv - rv,
        "*": lv * rv,
        "<": int(lv < rv),
        "==": int(lv == rv),
        "&": lv & rv,
    }[op]
    return f"({left} {op} {right})", value


@given(expressions())
def test_arithmetic_agrees_with_python(case):
    expr, value = case
    assert arith.evaluate(expr, FakeShell()) == value


@given(st.lists(text))
async def test_quoted_at_gives_the_positional_parameters_back(args):
    assert await fields('echo "$@"', FakeShell(args)) == ["echo", *args]
