"""The text commands, run on a booted system: exact output and status."""

from __future__ import annotations

from tests.pm.support import booted
from tests.userland.bin.fsupport import (  # noqa: F401 (redirect_fixture: a fixture)
    expect,
    od_x1,
    put,
    redirect_fixture,
    usage_error,
)


async def test_echo_and_printf(autojump_clock) -> None:
    async with booted() as s:
        await expect(s, ["/bin/echo", "a", "b  c"], "a b  c\n")
        await expect(s, ["/bin/echo"], "\n")
        await expect(s, ["/bin/echo", "-n", "-n", "x", "-n"], "x -n")
        await expect(s, ["/bin/echo", "a\\tb"], "a\\tb\n")
        await expect(s, ["/bin/printf", "%s=%d;", "a", "1", "b", "2"], "a=1;b=2;")
        await expect(
            s,
            ["/bin/printf", "%i %u %x %X %o %c %%\\n", "-3", "7", "255", "255", "8", "hi"],
            "-3 7 ff FF 10 h %\n",
        )
        await expect(
            s,
            ["/bin/printf", "[%5s|%-4d|%05d|%.2s]\\n", "ab", "7", "42", "xyz"],
            "[   ab|7   |00042|xy]\n",
        )
        await expect(s, ["/bin/printf", "\\101\\t\\\\\\012-%s-%d\\0101"], "A\t\\\n--0\b1")
        await expect(s, ["/bin/printf", "%d %x %d\\n", "0x1f", "010", "'A"], "31 8 65\n")
        await expect(s, ["/bin/printf", "%u\\n", "-1"], "18446744073709551615\n")
        status, out = await s.run(["/bin/printf", "\\377\\n"])
        assert (status, out) == (0, "\ufffd\n")  # a byte 0xff: run() decodes with "replace"
        await expect(s, ["/bin/printf", "no conversions\\n", "extra"], "no conversions\n")
        await expect(
            s, ["/bin/printf", "%d\\n", "12abc"], "12\nprintf: 12abc: not completely converted\n", 1
        )
        await expect(s, ["/bin/printf", "%d\\n", "zz"], "0\nprintf: zz: invalid number\n", 1)
        await usage_error(s, ["/bin/printf"], "printf: missing format")
        # %b (POSIX): the argument's escapes, \0NNN octal, \c ends all output
        await expect(
            s,
            ["/bin/printf", "%b|%s|%3b\n", "a\\tb\\0101\\q", "x\\ty", "\\n"],
            "a\tbA\\q|x\\ty|  \n\n",
        )
        await expect(s, ["/bin/printf", "<%b>%s\n", "ab\\cde", "never", "x"], "<ab")


async def test_cat(autojump_clock) -> None:
    async with booted() as s:
        await put(s, "/tmp/a", "one\n")
        await put(s, "/tmp/b", "two")
        await expect(s, ["/bin/cat"], "from stdin\n", stdin="from stdin\n")
        await expect(s, ["/bin/cat", "/tmp/a", "-", "/tmp/b"], "one\nmid\ntwo", stdin="mid\n")
        await expect(
            s,
            ["/bin/cat", "/tmp/a", "/nope", "/tmp/b"],
            "one\ncat: /nope: No such file or directory\ntwo",
            1,
        )
        await expect(s, ["/bin/cat", "/tmp"], "cat: /tmp: Is a directory\n", 1)
        await usage_error(s, ["/bin/cat", "-z"], "cat: option -z not recognized")


async def test_binary_data_passes_unchanged(autojump_clock, redirect) -> None:
    data = bytes(range(256)) * 300 + b"\xff\x00tail"  # more than one read's worth
    async with booted() as s:
        await expect(s, [redirect, "/tmp/in", "/bin/cat"], stdin=data)
        await expect(s, ["/bin/od", "-An", "-v", "-t", "x1", "/tmp/in"], od_x1(data))
        await expect(s, [redirect, "/tmp/out", "/bin/cat", "/tmp/in", "-"], stdin=b"\x80")
        await expect(s, ["/bin/od", "-An", "-v", "-t", "x1", "/tmp/out"], od_x1(data + b"\x80"))
        await expect(s, [redirect, "/tmp/h", "/bin/head", "-c", "300", "/tmp/in"])
        await expect(s, ["/bin/od", "-An", "-v", "-t", "x1", "/tmp/h"], od_x1(data[:300]))
        await expect(s, [redirect, "/tmp/t", "/bin/tail", "-c", "7", "/tmp/in"])
        await expect(s, ["/bin/od", "-An", "-v", "-t", "x1", "/tmp/t"], od_x1(data[-7:]))
        await expect(s, ["/bin/wc", "-c", "/tmp/in"], f"{len(data)} /tmp/in\n")
        await expect(s, [redirect, "/tmp/p", "/bin/printf", "\\377\\0\\200"])
        await expect(s, ["/bin/od", "-An", "-t", "x1", "/tmp/p"], " ff 00 80\n")


async def test_wc(autojump_clock) -> None:
    async with booted() as s:
        await put(s, "/tmp/a", "one two\nthree\n")
        await put(s, "/tmp/b", "  x\ty  z")
        await expect(s, ["/bin/wc"], " 3  3 10\n", stdin="a b\n\tc\n  \n")
        await expect(s, ["/bin/wc", "-l", "/tmp/a"], "2 /tmp/a\n")
        await expect(s, ["/bin/wc", "-w", "-c", "/tmp/b"], "3 8 /tmp/b\n")
        await expect(
            s, ["/bin/wc", "/tmp/a", "/tmp/b"], " 2  3 14 /tmp/a\n 0  3  8 /tmp/b\n 2  6 22 total\n"
        )
        await expect(
            s,
            ["/bin/wc", "-c", "/tmp/a", "/nope"],
            "wc: /nope: No such file or directory\n14 /tmp/a\n14 total\n",
            1,
        )
        await usage_error(s, ["/bin/wc", "-x"], "wc: option -x not recognized")


async def test_head_and_tail(autojump_clock) -> None:
    lines = "".join(f"{i}\n" for i in range(1, 16))
    async with booted() as s:
        await put(s, "/tmp/n", lines)
        await put(s, "/tmp/s", "a\nb\nc")
        await expect(s, ["/bin/head", "/tmp/n"], "".join(f"{i}\n" for i in range(1, 11)))
        await expect(s, ["/bin/head", "-n", "3"], "1\n2\n3\n", stdin=lines)
        await expect(
            s,
            ["/bin/head", "-2", "/tmp/n", "/tmp/s"],
            "==> /tmp/n <==\n1\n2\n\n==> /tmp/s <==\na\nb\n",
        )
        await expect(s, ["/bin/head", "-c", "5", "/tmp/n"], "1\n2\n3")
        await expect(s, ["/bin/head", "-n", "0", "/tmp/n"], "")
        await expect(s, ["/bin/head", "-n", "9", "/tmp/s"], "a\nb\nc")
        await expect(s, ["/bin/head", "/nope"], "head: /nope: No such file or directory\n", 1)
        await usage_error(s, ["/bin/head", "-n", "x"], "head: invalid number: x")
        await expect(s, ["/bin/tail", "/tmp/n"], "".join(f"{i}\n" for i in range(6, 16)))
        await expect(s, ["/bin/tail", "-n", "2", "/tmp/s"], "b\nc")
        await expect(s, ["/bin/tail", "-n", "+14", "/tmp/n"], "14\n15\n")
        await expect(s, ["/bin/tail", "-3"], "13\n14\n15\n", stdin=lines)
        await expect(s, ["/bin/tail", "-c", "3", "/tmp/n"], "15\n")
        await expect(s, ["/bin/tail", "-c", "+31", "/tmp/n"], "14\n15\n")
        await expect(
            s,
            ["/bin/tail", "-n", "1", "/tmp/s", "/tmp/n"],
            "==> /tmp/s <==\nc\n==> /tmp/n <==\n15\n",
        )
        await expect(s, ["/bin/tail", "/nope"], "tail: /nope: No such file or directory\n", 1)
        await usage_error(s, ["/bin/tail", "-c", "1x"], "tail: invalid number: 1x")


async def test_grep(autojump_clock) -> None:
    text = "apple pie\nBanana\ncherry (red)\nab+c\nabbbc\n"
    async with booted() as s:
        await put(s, "/tmp/f", text)
        await put(s, "/tmp/g", "no fruit here\n")
        g = "/bin/grep"
        await expect(s, [g, "an"], "Banana\n", stdin=text)
        await expect(s, [g, "-i", "BANANA", "/tmp/f"], "Banana\n")
        await expect(s, [g, "-v", "a", "/tmp/f"], "cherry (red)\n")
        await expect(s, [g, "-c", "a", "/tmp/f", "/tmp/g"], "/tmp/f:4\n/tmp/g:0\n")
        await expect(s, [g, "-n", "e", "/tmp/f"], "1:apple pie\n3:cherry (red)\n")
        await expect(s, [g, "-l", "r", "/tmp/f", "/tmp/g"], "/tmp/f\n/tmp/g\n")
        await expect(s, [g, "-l", "Ban"], "(standard input)\n", stdin=text)
        await expect(s, [g, "-q", "cherry", "/tmp/f"], "")
        await expect(s, [g, "-q", "kiwi", "/tmp/f"], "", 1)
        await expect(s, [g, "-e", "pie", "-e", "Ban", "/tmp/f"], "apple pie\nBanana\n")
        # basic: + and ( are plain characters, \+ and \( operators; extended: the reverse
        await expect(s, [g, "ab+c", "/tmp/f"], "ab+c\n")
        await expect(s, [g, "ab\\+c", "/tmp/f"], "abbbc\n")
        await expect(s, [g, "-E", "ab+c", "/tmp/f"], "abbbc\n")
        await expect(s, [g, "(red)", "/tmp/f"], "cherry (red)\n")
        await expect(s, [g, "\\(an\\)\\1", "/tmp/f"], "Banana\n")
        await expect(s, [g, "-E", "^(apple|cherry) ", "/tmp/f"], "apple pie\ncherry (red)\n")
        await expect(s, [g, "b\\{3\\}", "/tmp/f"], "abbbc\n")
        await expect(s, [g, "^[[:upper:]]", "/tmp/f"], "Banana\n")
        await expect(s, [g, "-F", "b+c", "/tmp/f"], "ab+c\n")
        await expect(s, [g, "zzz", "/tmp/f"], "", 1)
        await expect(s, [g, "a", "/nope"], "grep: /nope: No such file or directory\n", 2)
        await expect(s, [g, "-s", "pie", "/nope", "/tmp/f"], "/tmp/f:apple pie\n", 2)
        await expect(
            s, [g, "-q", "pie", "/nope", "/tmp/f"], "grep: /nope: No such file or directory\n", 0
        )
        status, out = await s.run([g, "-E", "a(", "/tmp/f"])
        assert status == 2
        assert out.startswith("grep: bad pattern: ")
        await usage_error(s, [g], "grep: missing pattern")
        await usage_error(s, [g, "-y", "x"], "grep: option -y not recognized")


async def test_sort_and_uniq(autojump_clock) -> None:
    async with booted() as s:
        await put(s, "/tmp/a", "pear\napple\n")
        await put(s, "/tmp/b", "fig")
        await expect(s, ["/bin/sort", "/tmp/a", "/tmp/b"], "apple\nfig\npear\n")
        await expect(s, ["/bin/sort", "-r"], "c\nb\na\n", stdin="b\nc\na\n")
        await expect(s, ["/bin/sort", "-n"], "-2\nx\n3\n10\n", stdin="10\n3\nx\n-2\n")
        await expect(s, ["/bin/sort", "-u"], "a\nb\n", stdin="b\na\nb\na\n")
        await expect(s, ["/bin/sort", "-k", "2"], "x 1\nz 2\ny 3\n", stdin="y 3\nx 1\nz 2\n")
        await expect(
            s,
            ["/bin/sort", "-t", ":", "-k", "3,3", "-n"],
            "b:y:0\nc:z:5\na:x:100\n",
            stdin="a:x:100\nb:y:0\nc:z:5\n",
        )
        await expect(s, ["/bin/sort", "-n", "-u"], "1\n2\n", stdin="2\n1\n01\n")
        await expect(s, ["/bin/sort", "/nope"], "sort: /nope: No such file or directory\n", 1)
        await usage_error(s, ["/bin/sort", "-k", "0"], "sort: invalid key: 0")
        await usage_error(s, ["/bin/sort", "-t", "ab"], "sort: separator must be one character: ab")
        runs = "a\na\nb\nc\nc\nc\na\n"
        await expect(s, ["/bin/uniq"], "a\nb\nc\na\n", stdin=runs)
        await expect(
            s, ["/bin/uniq", "-c"], "      2 a\n      1 b\n      3 c\n      1 a\n", stdin=runs
        )
        await expect(s, ["/bin/uniq", "-d"], "a\nc\n", stdin=runs)
        await expect(s, ["/bin/uniq", "-u"], "b\na\n", stdin=runs)
        await expect(s, ["/bin/uniq", "-", "/tmp/u"], "", stdin=runs)
        await expect(s, ["/bin/cat", "/tmp/u"], "a\nb\nc\na\n")
        await expect(s, ["/bin/uniq", "/nope"], "uniq: /nope: No such file or directory\n", 1)
        await usage_error(s, ["/bin/uniq", "a", "b", "c"], "uniq: too many operands")


async def test_tee(autojump_clock) -> None:
    async with booted() as s:
        await expect(s, ["/bin/tee", "/tmp/x", "/tmp/y"], "data\n", stdin="data\n")
        await expect(s, ["/bin/cat", "/tmp/x", "/tmp/y"], "data\ndata\n")
        await expect(s, ["/bin/tee", "-a", "/tmp/x"], "more\n", stdin="more\n")
        await expect(s, ["/bin/tee", "/tmp/y"], "new\n", stdin="new\n")
        await expect(s, ["/bin/cat", "/tmp/x", "/tmp/y"], "data\nmore\nnew\n")
        await expect(
            s,
            ["/bin/tee", "/nope/z", "/tmp/y"],
            "tee: /nope/z: No such file or directory\nok\n",
            1,
            stdin="ok\n",
        )
        await expect(s, ["/bin/cat", "/tmp/y"], "ok\n")
        await usage_error(s, ["/bin/tee", "-q"], "tee: option -q not recognized")


async def test_od(autojump_clock) -> None:
    async with booted() as s:
        await expect(
            s,
            ["/bin/od"],
            "0000000 062550 066154 020157 067567 066162 005144\n0000014\n",
            stdin="hello world\n",
        )
        await expect(
            s,
            ["/bin/od", "-c"],
            "0000000   h   i 001  \\t  \\n  \\0 377\n0000007\n",
            stdin=b"hi\x01\t\n\x00\xff",
        )
        await expect(s, ["/bin/od", "-An", "-t", "x1"], " 61 62 0a\n", stdin="ab\n")
        await expect(s, ["/bin/od", "-x"], "0000000 6261 0063\n0000003\n", stdin="abc")
        await expect(
            s, ["/bin/od", "-A", "d", "-t", "u1"], "0000000  97  98\n0000002\n", stdin="ab"
        )
        await expect(s, ["/bin/od", "-t", "d2"], "0000000     -1\n0000002\n", stdin=b"\xff\xff")
        same = "a" * 48
        await expect(
            s, ["/bin/od", "-t", "x1"], "0000000" + " 61" * 16 + "\n*\n0000060\n", stdin=same
        )
        await expect(
            s,
            ["/bin/od", "-v", "-A", "x", "-t", "o1"],
            "".join(f"{at:06x}" + " 141" * 16 + "\n" for at in (0, 16, 32)) + "000030\n",
            stdin=same,
        )
        await expect(s, ["/bin/od"], "0000000\n")
        await expect(s, ["/bin/od", "/nope"], "od: /nope: No such file or directory\n0000000\n", 1)
        await usage_error(s, ["/bin/od", "-t", "q"], "od: invalid type: q")
        await usage_error(s, ["/bin/od", "-A", "z"], "od: invalid address radix: z")
