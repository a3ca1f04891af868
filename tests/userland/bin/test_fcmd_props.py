"""Filters against Python models on random input: sort, uniq, wc, head, tail, grep -F.

Each hypothesis example boots once and checks a batch of inputs, so a handful of
examples covers many inputs at the price of a few boots.
"""

from __future__ import annotations

from itertools import groupby

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pm.support import booted

LINE = st.text(alphabet="ab1- \t", max_size=5)
INPUT = st.lists(LINE, max_size=10).map(lambda lines: "".join(f"{x}\n" for x in lines))
BATCH = st.lists(
    st.tuples(INPUT, st.integers(0, 12), st.sampled_from("ab1")), min_size=6, max_size=6
)


def _bare(line):
    return line.removesuffix("\n")  # sort compares lines without their newlines


def _wc(text):
    data = text.encode()
    nums = [data.count(b"\n"), len(data.split()), len(data)]
    width = max(len(str(n)) for n in nums)
    return " ".join(f"{n:>{width}}" for n in nums) + "\n"


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=BATCH)
async def test_filters_match_their_models(autojump_clock, batch) -> None:
    async with booted() as s:
        for text, n, needle in batch:
            lines = text.splitlines(keepends=True)
            want = {
                ("/bin/sort",): "".join(sorted(lines, key=_bare)),
                ("/bin/sort", "-r"): "".join(sorted(lines, key=_bare, reverse=True)),
                ("/bin/sort", "-u"): "".join(sorted(set(lines), key=_bare)),
                ("/bin/uniq",): "".join(k for k, _ in groupby(lines)),
                ("/bin/uniq", "-c"): "".join(f"{len(list(g)):7d} {k}" for k, g in groupby(lines)),
                ("/bin/wc",): _wc(text),
                ("/bin/head", "-n", str(n)): "".join(lines[:n]),
                ("/bin/tail", "-n", str(n)): "".join(lines[len(lines) - n :] if n else []),
                ("/bin/grep", "-F", "-v", needle): "".join(x for x in lines if needle not in x),
            }
            for argv, output in want.items():
                status = 1 if argv[0] == "/bin/grep" and not output else 0
                assert await s.run(list(argv), stdin=text) == (status, output), (argv, text)
