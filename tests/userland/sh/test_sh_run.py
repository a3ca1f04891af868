"""The shell end to end on a booted system: ``system.sh(LINE)`` -> (status, output).

The commands are the tiny programs of conftest.py (``xecho``, ``xcat``...), so these
tests depend only on the shell, PM and VFS.
"""

import pytest

from tests.pm.support import booted


async def sh_all(lines, **kw):
    """Boot once and run each line; the (status, output) pairs."""
    async with booted(**kw) as system:
        return [await system.sh(line) for line in lines]


async def test_words_quoting_and_status(autojump_clock, xprogs):
    results = await sh_all(
        [
            "xecho hello   world",
            "xecho 'a  b' \"c  d\" e\\ f \\$x '$x' \"\\$x\"",
            'x=5; xecho $x ${x}y "$x"',
            "xexit 3; xecho $?",
            "xexit sig9",
            "xexit sig15; xecho $?",
            "xecho a # a comment",
        ]
    )
    assert results == [
        (0, "hello world\n"),
        (0, "a  b c  d e f $x $x $x\n"),
        (0, "5 5y 5\n"),
        (0, "3\n"),
        (137, ""),
        (0, "143\n"),
        (0, "a\n"),
    ]


async def test_unknown_command_and_syntax_errors(autojump_clock, xprogs):
    results = await sh_all(
        [
            "nosuch arg",
            "/tmp/nosuch",
            "xecho before; nosuch; xecho $?",
            "/tmp",
            '""',
            "if true; then xecho x; fi fi",
            "xecho a; (",
            "xecho a\n(",
            "xecho 'unterminated",
            "xecho ok; ;",
            "| xcat",
        ]
    )
    assert results == [
        (127, "sh: nosuch: not found\n"),
        (127, "sh: /tmp/nosuch: not found\n"),
        (0, "before\nsh: nosuch: not found\n127\n"),
        (126, "sh: /tmp: Permission denied\n"),
        (127, "sh: : not found\n"),  # an empty name is no program (it used to crash)
        (2, "sh: syntax error: unexpected 'fi'\n"),
        (2, "sh: syntax error: unexpected end of file\n"),
        (2, "a\nsh: syntax error: unexpected end of file\n"),
        (2, "sh: syntax error: unexpected end of file\n"),
        (2, "sh: syntax error: unexpected ';'\n"),
        (2, "sh: syntax error: unexpected '|'\n"),
    ]


async def test_lists_and_pipelines(autojump_clock, xprogs):
    results = await sh_all(
        [
            "xecho one | xcat | xcat",
            "xexit 2 | xexit 0",
            "xexit 0 | xexit 4",
            "xexit 1 && xecho no || xecho yes",
            "xexit 0 && xecho yes; xecho after",
            "! xexit 1 && xecho negated",
            "xecho a; xecho b; xexit 6",
        ]
    )
    assert results == [
        (0, "one\n"),
        (0, ""),
        (4, ""),
        (0, "yes\n"),
        (0, "yes\nafter\n"),
        (0, "negated\n"),
        (6, "a\nb\n"),
    ]


async def test_redirections(autojump_clock, xprogs):
    results = await sh_all(
        [
            "xecho one > /tmp/f; xecho two >> /tmp/f; xcat < /tmp/f",
            "xerr out err > /tmp/g 2>&1; xcat /tmp/g",
            "xerr out err 2>&1 > /tmp/h | xcat; xcat /tmp/h",
            "xerr out err 2> /tmp/e; xcat /tmp/e",
            "xerr out err 3>&1 1>&2 2>&3 | xcat",
            "xcat < /tmp/none",
            "{ xecho in; xecho group; } > /tmp/k; xcat /tmp/k",
            "xecho gone >&-; xecho $?",
        ]
    )
    assert results[:6] == [
        (0, "one\ntwo\n"),
        (0, "out\nerr\n"),
        (0, "err\nout\n"),
        (0, "out\nerr\n"),
        (0, "out\nerr\n"),
        (1, "sh: /tmp/none: No such file or directory\n"),
    ]
    assert results[6] == (0, "in\ngroup\n")
    assert results[7] == (0, "1\n")  # its standard output closed, xecho failed


async def test_here_documents(autojump_clock, xprogs):
    line = (
        "x=world\nxcat <<EOF\nhello $x\n  $((1+1)) \\$x\nEOF\n"
        "xcat <<'E'\n$x `no`\nE\n"
        "xcat <<-T\n\tstripped\n\tT\n"
    )
    big = "xcat <<EOF | xcat\n" + "y" * 9000 + "\nEOF\n"
    results = await sh_all([line, big])
    assert results[0] == (0, "hello world\n  2 $x\n$x `no`\nstripped\n")
    assert results[1] == (0, "y" * 9000 + "\n")


async def test_compound_commands_and_functions(autojump_clock, xprogs):
    results = await sh_all(
        [
            "if xexit 1; then xecho a; elif xexit 0; then xecho b; else xecho c; fi",
            "for i in 1 2 3; do xecho $i; done",
            "i=0; while xexit $((i >= 3)); do i=$((i+1)); done; xecho $i",
            "i=0; until xexit $((i != 2)); do i=$((i+1)); xecho $i; done",
            "for f in a b.c d; do case $f in *.c) xecho C $f;; a|d) xecho AD $f;; esac; done",
            'f() { xecho "f:$1:$#"; return 4; }; f a b; xecho $? $1',
            "g() { for i in 1 2 3 4; do case $i in 3) break;; 1) continue;; esac; xecho $i; "
            "done; }; g",
            '(x=inner; cd /tmp; xecho $x); xecho "[$x]"; pwd',
            'set -- a \'b c\' d; xecho $#; for a in "$@"; do xecho "<$a>"; done',
            "set -- a b c; shift 2; xecho $1 $#",
        ]
    )
    assert results == [
        (0, "b\n"),
        (0, "1\n2\n3\n"),
        (0, "3\n"),
        (0, "1\n2\n"),
        (0, "AD a\nC b.c\nAD d\n"),
        (0, "f:a:2\n4\n"),
        (0, "2\n"),
        (0, "inner\n[]\n/\n"),
        (0, "3\n<a>\n<b c>\n<d>\n"),
        (0, "c 1\n"),
    ]


async def test_expansions(autojump_clock, xprogs):
    results = await sh_all(
        [
            'x=$(xecho hi there); xecho "[$x]" `xecho bq` $(xexit 3)$?',
            "xecho ${u:-dflt} ${u:=set} $u ${u:+alt} ${#u} ${n-unset}",
            "v=/a/b/c.txt; xecho ${v##*/} ${v%.*} ${v#/} ${v%%/*}x",
            "xecho $((3 * (4 + 1))) $((7 / 2)) $((-7 % 3)) $((1 < 2)) $((x = 4)) $((x + 1)) "
            "$((x += 2)) $x $((x > 5 ? 10 : 20)) $((0x10 + 010))",
            "a='1  2'; xecho $a \"$a\"; set -- $a; xecho $#",
            "xecho ~ ~/x ~root '~'",
            "xecho ${z:?is missing}; xecho not reached",
            "xecho $((1/0))",
        ]
    )
    assert results[0] == (0, "[hi there] bq 3\n")
    assert results[1] == (0, "dflt set set alt 3 unset\n")
    assert results[2] == (0, "c.txt /a/b/c a/b/c.txt x\n")
    assert results[3] == (0, "15 3 -1 1 4 5 6 6 10 24\n")
    assert results[4] == (0, "1 2 1  2\n2\n")
    assert results[5] == (0, "/root /root/x /root ~\n")
    assert results[6] == (1, "sh: z: is missing\n")
    assert results[7] == (1, "sh: 1/0: division by zero\n")


async def test_globbing(autojump_clock, xprogs):
    results = await sh_all(
        [
            "for f in a b c.txt .hidden; do : > /tmp/$f; done; xmkdir /tmp/d; : > /tmp/d/in",
            "xecho /tmp/*",
            "xecho /tmp/*.txt /tmp/z* '/tmp/*' /tmp/\\*",
            "cd /tmp; xecho ? [ab] [!a] .* */*",
        ]
    )
    assert results[0] == (0, "")
    assert results[1] == (0, "/tmp/a /tmp/b /tmp/c.txt /tmp/d\n")
    assert results[2] == (0, "/tmp/c.txt /tmp/z* /tmp/* /tmp/*\n")
    assert results[3] == (0, "a b d a b b d .hidden d/in\n")


async def test_variables_environment_and_builtins(autojump_clock, xprogs):
    results = await sh_all(
        [
            "export A=1; B=2; sh -c 'xecho $A-$B'",
            "C=3 sh -c 'xecho $C'; xecho \"[$C]\"",
            'x=1; unset x; xecho "[$x]"',
            "xecho $$ > /tmp/pid; sh -c 'xecho $$' > /tmp/pid2; "
            'case "$(xcat /tmp/pid)" in "$(xcat /tmp/pid2)") ;; *) xecho differ;; esac',
            "cd /tmp; pwd; cd; pwd; cd - ; xecho $OLDPWD",
            "cd /nonexistent",
            "umask 027; umask",
            "eval 'x=7; xecho $x'",
            "exit 9; xecho no",
            "exit",
            "xecho y | { read a; xecho got $a; }",
            "xecho 'l1 w2 w3' > /tmp/r; read a b < /tmp/r; xecho $b",
        ]
    )
    assert results == [
        (0, "1-\n"),
        (0, "3\n[]\n"),
        (0, "[]\n"),
        (0, "differ\n"),
        (0, "/tmp\n/root\n/tmp\n/root\n"),
        (1, "sh: cd: /nonexistent: No such file or directory\n"),
        (0, "0027\n"),
        (0, "7\n"),
        (9, ""),
        (0, ""),
        (0, "got y\n"),
        (0, "w2 w3\n"),
    ]


async def test_background_and_wait(autojump_clock, xprogs):
    results = await sh_all(
        [
            "xexit 5 & p=$!; wait $p; xecho $?",
            "xecho bg > /tmp/bg & wait; xcat /tmp/bg",
            "xexit 1 & xexit 2 & wait; xecho all $?",
            "wait 999",
        ]
    )
    assert results == [
        (0, "5\n"),
        (0, "bg\n"),
        (0, "all 0\n"),
        (127, "sh: wait: 999: no such job\n"),
    ]


async def test_wait_skips_a_stopped_job(autojump_clock, xprogs):
    """Without job control too, ``wait`` does not hang on a stopped job (see
    docs/shell.md): ``wait`` alone returns once the running ones ended, ``wait PID`` of a
    stopped one gives 128 + the stop signal at once."""
    results = await sh_all(
        [
            "sleep 1000 & p=$!; kill -STOP $p; xexit 3 & wait; xecho all $?;"
            " wait $p; xecho one $?; kill -KILL $p",
        ]
    )
    assert results == [(0, "all 0\none 147\n")]


async def test_set_e(autojump_clock, xprogs):
    results = await sh_all(
        [
            "set -e; xecho a; xexit 3; xecho b",
            "set -e; xexit 1 || xecho ok; if xexit 1; then :; fi; ! xexit 0; xecho survived",
            "set -e; xexit 1 && xecho no; xecho survived",
            "set -e; (xexit 4); xecho no",
        ]
    )
    assert results == [
        (3, "a\n"),
        (0, "ok\nsurvived\n"),
        (0, "survived\n"),
        (4, ""),
    ]


async def test_scripts_from_files_and_dot(autojump_clock, xprogs):
    script = 'xecho "script $0 $# $1"\nf() { xecho in f; }\nx=fromscript\nexit 3\n'
    results = await sh_all(
        [
            "xcat > /tmp/s.sh <<'EOF'\n" + script + "EOF\nsh /tmp/s.sh one two; xecho $?",
            "xcat > /tmp/lib.sh <<'EOF'\ny=sourced\ng() { xecho g $y; }\nEOF\n"
            ". /tmp/lib.sh; g; xecho $y",
            "xcat > /tmp/bad.sh <<'EOF'\nxecho first\nfi\nxecho never\nEOF\nsh /tmp/bad.sh",
            "sh /tmp/missing.sh",
            "xecho 'xecho run as a program' > /tmp/p; xchmod 755 /tmp/p; /tmp/p",
        ]
    )
    assert results[0] == (0, "script /tmp/s.sh 2 one\n3\n")
    assert results[1] == (0, "g sourced\nsourced\n")
    assert results[2] == (2, "first\nsh: /tmp/bad.sh: line 2: syntax error: unexpected 'fi'\n")
    assert results[3] == (127, "sh: /tmp/missing.sh: No such file or directory\n")
    assert results[4] == (0, "run as a program\n")


@pytest.mark.parametrize("line", ["xecho a | xcat | xcat > /tmp/o; xcat /tmp/o"])
async def test_standard_input_script(autojump_clock, xprogs, line):
    async with booted() as system:
        status, out = await system.run(
            ["/bin/sh"], stdin=line + '\nread v\nthis is data\nxecho "$v"\n'
        )
    assert (status, out) == (0, "a\nthis is data\n")


async def test_exec_xtrace_and_reading_loops(autojump_clock, xprogs):
    results = await sh_all(
        [
            "exec xecho replaced; xecho never",
            "exec 3>/tmp/x; xecho hi >&3; xcat /tmp/x",
            "set -x; xecho a; x=1",
            "for i in 1 2; do for j in a b; do case $j in b) break 2;; esac; xecho $i$j; "
            "done; done",
            "xcat > /tmp/in <<EOF\nl1\nl2 x y\nEOF\n"
            'while read a b; do xecho "[$a|$b]"; done < /tmp/in',
            "{ xecho p1; xecho p2; } | while read l; do xecho got $l; done",
            "f() { xecho in f; }; f > /tmp/ff; xcat /tmp/ff",
            "cd /tmp > /nonexistent/x; xecho $?",
            "(exit 3); xecho $?",
            "x=1; { x=2; }; xecho $x; (x=3); xecho $x",
            "xecho a\\\nb",
            "xexit 4; x=$?; xecho $x; y=$(xexit 5); xecho $?; y=1; xecho $?",
            "sh -c 'xecho $0 $# $1' name a b",
        ]
    )
    assert results == [
        (0, "replaced\n"),
        (0, "hi\n"),
        (0, "+ xecho a\na\n+ x=1\n"),
        (0, "1a\n"),
        (0, "[l1|]\n[l2|x y]\n"),
        (0, "got p1\ngot p2\n"),
        (0, "in f\n"),
        (0, "sh: /nonexistent/x: No such file or directory\n1\n"),
        (0, "3\n"),
        (0, "2\n2\n"),
        (0, "ab\n"),
        (0, "4\n5\n0\n"),
        (0, "name 2 a\n"),
    ]


async def test_kill_builtin_knows_jobs(autojump_clock):
    async with booted() as system:
        status, out = await system.sh("sleep 100 & kill %1; wait %1; echo $?; kill %3; echo $?")
        assert (status, out) == (0, "143\nsh: kill: %3: no such job\n1\n")
        status, out = await system.sh("kill -l 130; kill -s KILL $$")
        assert (status, out) == (-9, "INT\n")  # the shell itself died


async def test_read_joins_a_line_only_after_an_unescaped_backslash(autojump_clock, xprogs):
    # line 1 ends in an escaped backslash (so the line ends there); line 2 in a lone one
    line = r"""printf 'a\\\\\nb\\\nc\n' | { read x; read y; xecho "[$x][$y]"; }"""
    raw = r"""printf 'a\\\\\n' | { read -r x; xecho "[$x]"; }"""
    assert await sh_all([line, raw]) == [(0, "[a\\][bc]\n"), (0, "[a\\\\]\n")]
