"""test and [: file primaries, POSIX's argument-count rules, errors, and a property
(numbers and strings against a Python model, many cases in one boot).
"""

import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from tests.pm.support import booted
from tests.userland.bin.psupport import installed, run_all
from userland import libc

# -- fixed cases --------------------------------------------------------------------------


async def _setup(argv):
    fd = await libc.open("/tmp/full", libc.O_WRONLY | libc.O_CREAT, 0o644)
    await libc.write(fd, b"x")
    await libc.close(fd)
    await libc.close(await libc.open("/tmp/empty", libc.O_WRONLY | libc.O_CREAT, 0o600))
    await libc.symlink("/tmp/full", "/tmp/link")
    await libc.symlink("/tmp/nowhere", "/tmp/dangling")
    await libc.mkfifo("/tmp/fifo")
    await libc.chmod("/tmp/full", 0o4755)
    return 0


FILE_CASES = [
    (["-e", "/tmp/full"], 0),
    (["-e", "/tmp/nowhere"], 1),
    (["-f", "/tmp/full"], 0),
    (["-f", "/tmp"], 1),
    (["-d", "/tmp"], 0),
    (["-d", "/tmp/full"], 1),
    (["-s", "/tmp/full"], 0),
    (["-s", "/tmp/empty"], 1),
    (["-L", "/tmp/link"], 0),
    (["-h", "/tmp/dangling"], 0),
    (["-e", "/tmp/dangling"], 1),
    (["-L", "/tmp/full"], 1),
    (["-f", "/tmp/link"], 0),
    (["-c", "/dev/null"], 0),
    (["-c", "/tmp/full"], 1),
    (["-p", "/tmp/fifo"], 0),
    (["-p", "/dev/null"], 1),
    (["-b", "/dev/null"], 1),
    (["-u", "/tmp/full"], 0),
    (["-g", "/tmp/full"], 1),
    (["-k", "/tmp"], 0),
    (["-r", "/etc/passwd"], 0),
    (["-w", "/etc/passwd"], 0),  # root
    (["-x", "/bin/test"], 0),
    (["-x", "/etc/passwd"], 1),
    (["-r", ""], 1),
    (["-t", "0"], 1),
    (["/tmp/link", "-ef", "/tmp/full"], 0),
    (["/tmp/empty", "-ef", "/tmp/full"], 1),
    (["!", "-d", "/tmp/full", "-a", "-f", "/tmp/full"], 0),
]
SYNTAX_CASES = [
    ([], 1, ""),
    (["-n"], 0, ""),  # one argument: a non-empty string
    (["!"], 0, ""),
    (["!", "="], 1, ""),  # two: "!" negates the one-argument test of "="
    (["(", "", ")"], 1, ""),
    (["=", "=", "="], 0, ""),
    (["!", "-o", ""], 0, ""),  # three: -o is the binary primary ("!" is a string)
    (["!", "a", "=", "a"], 1, ""),
    (["(", "!", "", ")"], 0, ""),
    (["a", "-eq", "1"], 2, "test: a: integer expression expected\n"),
    ([" 7 ", "-eq", "+7"], 0, ""),
    (["1", "-lt"], 2, "test: 1: unary operator expected\n"),
    (["a", "b", "c"], 2, "test: b: unexpected operator\n"),
    (["(", "a", "-a", "b"], 2, "test: ')' expected\n"),
    (["a", "-a", "b", "-o"], 2, "test: argument expected\n"),
    (["-n", "a", "-a", "b", ")"], 2, "test: ): unexpected operator\n"),
]


async def test_files_syntax_and_brackets(autojump_clock):
    cases = [["/bin/setup"]]
    cases += [["/bin/test", *args] for args, _ in FILE_CASES]
    cases += [["/bin/test", *args] for args, _, _ in SYNTAX_CASES]
    cases += [
        ["/bin/[", "-d", "/tmp", "]"],
        ["/bin/[", "]"],
        ["/bin/[", "-d", "/tmp"],
        ["/bin/["],
        ["/bin/[", "1", "-gt", "x", "]"],
    ]
    with installed(setup=_setup):
        async with booted() as system:
            results = await run_all(system, cases)
    assert results[0] == (0, "")
    files = results[1 : 1 + len(FILE_CASES)]
    assert files == [(status, "") for _, status in FILE_CASES]
    syntax = results[1 + len(FILE_CASES) : -5]
    assert syntax == [(status, out) for _, status, out in SYNTAX_CASES]
    assert results[-5:] == [
        (0, ""),
        (1, ""),
        (2, "[: missing ']'\n"),
        (2, "[: missing ']'\n"),
        (2, "[: x: integer expression expected\n"),
    ]


# -- the property ----------------------------------------------------------------------------

NUMERIC = {
    "-eq": int.__eq__,
    "-ne": int.__ne__,
    "-lt": int.__lt__,
    "-le": int.__le__,
    "-gt": int.__gt__,
    "-ge": int.__ge__,
}
words = st.sampled_from(["", "a", "b", "ab", "0", "1", "x y"])
numbers = st.integers(-1000, 1000).map(str) | st.sampled_from(["+5", "-0", "007", " 3"])
bad_numbers = st.sampled_from(["a", "", "1.5", "--1"])


def _int(text):
    """The model of an integer operand: blanks, an optional sign, decimal digits."""
    stripped = text.strip(" \t")
    body = stripped[1:] if stripped[:1] in ("+", "-") else stripped
    if not (body.isascii() and body.isdigit()):
        raise ValueError(text)
    return int(stripped)


@st.composite
def atoms(draw):
    """(args, value) with value None for an error (a bad integer)."""
    kind = draw(st.sampled_from(["num", "bad", "str", "unary", "bare"]))
    if kind in ("num", "bad"):
        op = draw(st.sampled_from(sorted(NUMERIC)))
        a, b = draw(numbers), draw(numbers if kind == "num" else bad_numbers)
        if draw(st.booleans()):
            a, b = b, a
        try:
            return [a, op, b], NUMERIC[op](_int(a), _int(b))
        except ValueError:
            return [a, op, b], None
    if kind == "str":
        op = draw(st.sampled_from(["=", "!="]))
        a, b = draw(words), draw(words)
        return [a, op, b], (a == b) == (op == "=")
    if kind == "unary":
        op = draw(st.sampled_from(["-n", "-z"]))
        w = draw(words)
        return [op, w], (w != "") == (op == "-n")
    w = draw(words.filter(lambda w: w != ""))
    return [w], True


def _combine(children):
    return st.one_of(
        st.tuples(st.just("!"), children),
        st.tuples(st.just("("), children),
        st.tuples(children, st.sampled_from(["-a", "-o"]), children),
    )


def _binary(tree):
    return isinstance(tree, tuple) and len(tree) == 3


def _flatten(tree):
    """(args, value) of an expression tree, parenthesised where the grammar's precedence
    (``!`` over ``-a`` over ``-o``) would group it otherwise; value None on an error."""
    if isinstance(tree[0], list):
        return tree  # an atom: (args, value)
    if tree[0] in ("!", "("):
        args, value = _flatten(tree[1])
        if tree[0] == "(" or _binary(tree[1]):
            args = ["(", *args, ")"]
        if tree[0] == "!":
            args, value = ["!", *args], None if value is None else not value
        return args, value
    left, op, right = tree
    (la, lv), (ra, rv) = _flatten(left), _flatten(right)
    if _binary(left) and not (op == "-o" and left[1] == "-a"):
        la = ["(", *la, ")"]
    if _binary(right) and not (op == "-o" and right[1] == "-a"):
        ra = ["(", *ra, ")"]
    value = None if None in (lv, rv) else (lv and rv) if op == "-a" else (lv or rv)
    return [*la, op, *ra], value


def _not_posix_special(case):
    args, _ = case
    # POSIX: four arguments starting with "!" negate the three-argument test that
    # follows, so "! a -a b" is !(a && b), not the grammar's (!a) && b.
    return not (len(args) == 4 and args[0] == "!" and args[2] in ("-a", "-o"))


cases = st.tuples(
    st.recursive(atoms(), _combine, max_leaves=4).map(_flatten).filter(_not_posix_special),
    st.booleans(),
)


async def _check(batch):
    argvs = [
        (["/bin/[", *args, "]"] if bracket else ["/bin/test", *args])
        for (args, _), bracket in batch
    ]
    async with booted() as system:
        results = await run_all(system, argvs)
    for ((args, value), _), (status, out) in zip(batch, results, strict=True):
        want = 2 if value is None else (0 if value else 1)
        assert status == want, (args, value, status, out)
        assert (out == "") == (want != 2), (args, out)


@settings(settings.get_profile("ci"), max_examples=3)
@given(batch=st.lists(cases, min_size=40, max_size=40))
def test_numbers_and_strings_match_the_model(batch):
    trio.run(_check, batch, clock=MockClock(autojump_threshold=0))
