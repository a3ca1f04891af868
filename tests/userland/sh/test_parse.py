"""The lexer and the parser (pure: no system needed)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from userland.sh.lex import EOF, IO_NUMBER, NEWLINE, OP, WORD, Lexer, ShSyntaxError
from userland.sh.nodes import (
    DQ,
    Arith,
    Case,
    CmdSub,
    For,
    FuncDef,
    Group,
    HereDoc,
    If,
    Lit,
    Loop,
    Param,
    Quoted,
    Simple,
    Subshell,
    Tilde,
)
from userland.sh.parse import RESERVED, Parser, parse


def tokens(src):
    lx = Lexer(src)
    out = []
    while (tok := lx.next()).kind != EOF:
        out.append((tok.kind, tok.text))
    return out


def only(src):
    """The single command of a one-command text."""
    (seq,) = parse(src).commands
    (item,) = seq.items
    assert not item.body.rest
    (cmd,) = item.body.first.commands
    return cmd


def test_tokens_words_operators_comments():
    assert tokens("a b;c&&d||e|f&g # comment\nh") == [
        (WORD, "a"),
        (WORD, "b"),
        (OP, ";"),
        (WORD, "c"),
        (OP, "&&"),
        (WORD, "d"),
        (OP, "||"),
        (WORD, "e"),
        (OP, "|"),
        (WORD, "f"),
        (OP, "&"),
        (WORD, "g"),
        (NEWLINE, "\n"),
        (WORD, "h"),
    ]
    assert tokens("x 2>&1 >>f <g 10<>h") == [
        (WORD, "x"),
        (IO_NUMBER, "2"),
        (OP, ">&"),
        (WORD, "1"),
        (OP, ">>"),
        (WORD, "f"),
        (OP, "<"),
        (WORD, "g"),
        (IO_NUMBER, "10"),
        (OP, "<>"),
        (WORD, "h"),
    ]
    assert tokens("a\\\nb 'c d'\"e f\"g#h") == [(WORD, "a\\\nb"), (WORD, "'c d'\"e f\"g#h")]


def test_word_parts():
    (word,) = only("""x'a b'\\$"q $v ${w:-d} $(c) `b` $((1+$n))"~""").words
    assert word.parts == (
        Lit("x"),
        Quoted("a b"),
        Quoted("$"),
        DQ(
            (
                Quoted("q "),
                Param("v"),
                Quoted(" "),
                Param("w", ":-", word.parts[3].parts[3].word),
                Quoted(" "),
                CmdSub("c"),
                Quoted(" "),
                CmdSub("b"),
                Quoted(" "),
                Arith((Quoted("1+"), Param("n"))),
            )
        ),
        Lit("~"),
    )
    assert only("echo ~ ~user/x a~").words[1].parts == (Tilde(""),)
    assert only("echo ~user/x").words[1].parts == (Tilde("user"), Lit("/x"))
    assert only("echo ${#x} $1 $10 ${10} $@ $?").words[1:] and [
        w.parts for w in only("echo ${#x} $1 $10 ${10}").words[1:]
    ] == [(Param("x", "length"),), (Param("1"),), (Param("1"), Lit("0")), (Param("10"),)]


def test_command_substitution_nesting_and_case_inside():
    (word,) = only("echo $(case x in a) echo ')';; esac; (echo y))").words[1:]
    assert word.parts == (CmdSub("case x in a) echo ')';; esac; (echo y)"),)


def test_simple_command_assignments_and_redirections():
    cmd = only("A=1 B=$x cmd C=3 >out 2>&1 <in")
    assert isinstance(cmd, Simple)
    assert [(n, w.raw) for n, w in cmd.assigns] == [("A", "1"), ("B", "$x")]
    assert [w.raw for w in cmd.words] == ["cmd", "C=3"]
    assert [(r.fd, r.op, r.target.raw) for r in cmd.redirects] == [
        (1, ">", "out"),
        (2, ">&", "1"),
        (0, "<", "in"),
    ]


def test_here_documents():
    (seq,) = parse("cat <<EOF <<-'T'; echo after\nline $x\nEOF\n\tquoted $x\n\tT\n").commands
    cmd = seq.items[0].body.first.commands[0]
    first, second = (r.target for r in cmd.redirects)
    assert isinstance(first, HereDoc)
    assert (first.delimiter, first.expand, first.body) == ("EOF", True, "line $x\n")
    assert (second.delimiter, second.expand, second.strip_tabs, second.body) == (
        "T",
        False,
        True,
        "quoted $x\n",
    )
    assert [w.raw for w in seq.items[1].body.first.commands[0].words] == ["echo", "after"]


def test_compound_commands():
    cmd = only("if a; then b; elif c; then d; else e; fi")
    assert isinstance(cmd, If)
    assert len(cmd.arms) == 2
    assert cmd.orelse is not None
    assert isinstance(only("while a\ndo\nb\ndone"), Loop)
    assert only("until a; do b; done").until
    loop = only("for i in 1 2 3; do echo $i; done")
    assert isinstance(loop, For)
    assert [w.raw for w in loop.words] == ["1", "2", "3"]
    assert only("for i; do :; done").words is None
    case = only("case $x in (a|b) one;; c) two ;; *) esac")
    assert isinstance(case, Case)
    assert [[p.raw for p in pats] for pats, _ in case.arms] == [["a", "b"], ["c"], ["*"]]
    assert isinstance(only("{ a; b; } >f"), Group)
    assert isinstance(only("(a; b)"), Subshell)
    f = only("f() { echo hi; }")
    assert isinstance(f, FuncDef)
    assert f.name == "f"
    assert isinstance(f.body, Group)


def test_lists_background_and_negation():
    (seq,) = parse("a & b; ! c | d && e || f").commands
    assert [i.background for i in seq.items] == [True, False, False]
    assert [i.text for i in seq.items] == ["a", "b", "! c | d && e || f"]
    ao = seq.items[2].body
    assert ao.first.bang
    assert len(ao.first.commands) == 2
    assert [op for op, _ in ao.rest] == ["&&", "||"]


def test_reserved_words_only_in_command_position():
    assert [w.raw for w in only("echo if then fi").words] == ["echo", "if", "then", "fi"]
    assert [w.raw for w in only("'if' x").words] == ["'if'", "x"]


def test_commands_come_one_at_a_time():
    parser = Parser("a\nb\nfi\n")
    assert parser.next_command() is not None
    assert parser.next_command() is not None
    with pytest.raises(ShSyntaxError) as err:
        parser.next_command()
    assert (err.value.near, err.value.line) == ("'fi'", 3)


@pytest.mark.parametrize(
    ("src", "near", "at_eof"),
    [
        ("fi", "'fi'", False),
        ("if true; then", "end of file", True),
        ("echo 'abc", "end of file", True),
        ('echo "abc', "end of file", True),
        ("echo $(a", "end of file", True),
        ("cat <<EOF\nabc", "end of file", True),
        ("a |", "end of file", True),
        ("a && && b", "'&&'", False),
        ("; a", "';'", False),
        ("a ;; b", "';;'", False),
        ("(a", "end of file", True),
        ("a )", "')'", False),
        ("echo >", "end of file", True),
        ("echo > ;", "';'", False),
        ("for 1 in a; do b; done", "'1'", False),
        ("case a in b) c;; d", "end of file", True),
        ("{ }", "'}'", False),
        ("if a\nthen\nfi", "'fi'", False),
        ("while a; do done", "'done'", False),
        ("echo ${a", "end of file", True),
        ("echo ${a&b}", "'${'", False),
    ],
)
def test_syntax_errors_name_the_token(src, near, at_eof):
    with pytest.raises(ShSyntaxError) as err:
        parse(src)
    assert err.value.near == near
    assert err.value.at_eof == at_eof
    assert str(err.value) == f"syntax error: unexpected {near}"


names = st.text("abcxyz", min_size=1, max_size=4).filter(lambda w: w not in RESERVED)


@given(
    st.lists(
        st.tuples(
            st.lists(st.lists(names, min_size=1, max_size=3), min_size=1, max_size=3),
            st.sampled_from([";", "&", "&&", "||", "\n"]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_generated_lists_parse_to_their_structure(spec):
    """Pipelines of simple commands joined by list operators parse back to that shape."""
    text = ""
    for k, (pipeline, op) in enumerate(spec):
        text += " | ".join(" ".join(cmd) for cmd in pipeline)
        last = k == len(spec) - 1
        text += (" " + op + " ") if not (last and op in ("&&", "||")) else ""
    pipelines = [
        [[w.raw for w in c.words] for c in p.commands]
        for seq in parse(text).commands
        for item in seq.items
        for p in (item.body.first, *(p for _, p in item.body.rest))
    ]
    assert pipelines == [pipeline for pipeline, _ in spec]
