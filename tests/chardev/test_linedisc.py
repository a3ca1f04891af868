"""The TTY line discipline (chardev.tty): termios constants, input, echo, reads, output."""

import termios as host_termios

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chardev.tty import MAX_CANON, MAX_INPUT, LineDiscipline, Signal, Termios
from chardev.tty import termios as T
from chardev.tty.linedisc import SIGINT, SIGQUIT, SIGTSTP
from servers.pm import protocol as pm

CTRL_C, CTRL_D, CTRL_U, CTRL_V = b"\x03", b"\x04", b"\x15", b"\x16"
CTRL_Z, CTRL_BSL, DEL = b"\x1a", b"\x1c", b"\x7f"


def make(*, lflag_off=0, lflag_on=0, iflag_off=0, iflag_on=0, oflag_off=0, **cc):
    attrs = Termios()
    attrs.lflag = (attrs.lflag & ~lflag_off) | lflag_on
    attrs.iflag = (attrs.iflag & ~iflag_off) | iflag_on
    attrs.oflag &= ~oflag_off
    for name, value in cc.items():
        attrs.cc[getattr(T, name)] = value
    return LineDiscipline(attrs)


def raw(vmin, vtime, *, echo=False):
    off = T.ICANON | T.ISIG | T.IEXTEN | (0 if echo else T.ECHO)
    return make(lflag_off=off, VMIN=vmin, VTIME=vtime)


def read_all(ld):
    out = []
    while (chunk := ld.read(1000)) is not None:
        out.append(chunk)
        if ld.lines == 0:
            break
    return out


# -- constants and Termios ----------------------------------------------------------------

NAMES = [
    *("ICANON", "ECHO", "ECHOE", "ECHOK", "ECHONL", "ECHOCTL", "ECHOKE", "ISIG", "NOFLSH"),
    *("IEXTEN", "ICRNL", "INLCR", "IGNCR", "ISTRIP", "IMAXBEL", "BRKINT", "IXON", "IXANY"),
    *("OPOST", "ONLCR", "CS8", "CREAD", "HUPCL", "VEOF", "VEOL", "VERASE", "VKILL", "VINTR"),
    *("VQUIT", "VSUSP", "VMIN", "VTIME", "VLNEXT", "VSTART", "VSTOP", "VREPRINT", "VWERASE"),
    *("VDISCARD", "TCSANOW", "TCSADRAIN", "TCSAFLUSH", "NCCS", "B0", "B9600", "B38400"),
    "B115200",
]


@pytest.mark.parametrize("name", NAMES)
def test_constants_match_linux_termios(name):
    assert getattr(T, name) == getattr(host_termios, name)


def test_signal_numbers_match_pm():
    assert (SIGINT, SIGQUIT, SIGTSTP) == (pm.SIGINT, pm.SIGQUIT, pm.SIGTSTP)


def test_defaults():
    attrs = Termios()
    assert attrs.lflag == T.ECHO | T.ICANON | T.ISIG | T.IEXTEN | T.ECHOE | T.ECHOKE | T.ECHOCTL
    assert attrs.iflag & T.ICRNL and not attrs.iflag & (T.IXON | T.INLCR | T.IGNCR)
    assert attrs.oflag == T.OPOST | T.ONLCR
    assert attrs.ispeed == attrs.ospeed == T.B115200
    assert len(attrs.cc) == T.NCCS == 32
    cc = attrs.cc
    assert (cc[T.VINTR], cc[T.VQUIT], cc[T.VERASE], cc[T.VKILL]) == (3, 0x1C, 0x7F, 0x15)
    assert (cc[T.VEOF], cc[T.VEOL], cc[T.VSUSP], cc[T.VLNEXT]) == (4, 0, 0x1A, 0x16)
    assert (cc[T.VMIN], cc[T.VTIME]) == (1, 0)


def test_termios_list_round_trip_like_python():
    attrs = Termios()
    as_list = attrs.to_list()
    assert as_list[:6] == [attrs.iflag, attrs.oflag, attrs.cflag, attrs.lflag, T.B115200, T.B115200]
    assert as_list[6][T.VINTR] == b"\x03" and as_list[6][T.VMIN] == b"\x01"
    assert Termios.from_list(as_list) == attrs
    # Python's tty.setraw idiom: clear ICANON and set cc[VMIN] to an int.
    as_list[3] &= ~T.ICANON
    as_list[6][T.VMIN] = 1
    rawmode = Termios.from_list(as_list)
    assert rawmode.to_list()[6][T.VMIN] == 1 and rawmode.to_list()[6][T.VTIME] == 0
    assert rawmode.cc[T.VMIN] == 1 and not rawmode.lflag & T.ICANON


def test_termios_copy_is_independent():
    attrs = Termios()
    other = attrs.copy()
    other.cc[T.VINTR] = 0
    assert attrs.cc[T.VINTR] == 3


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "1234567",
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, [0] * 31],
        [0, 0, 0, 0, 0, 0, b"\x00" * 32],
        [-1, 0, 0, 0, 0, 0, [0] * 32],
        [2**32, 0, 0, 0, 0, 0, [0] * 32],
        [0, 0, 0, "x", 0, 0, [0] * 32],
        [0, 0, 0, 0, 0, 0, [256] + [0] * 31],
        [0, 0, 0, 0, 0, 0, [b"ab"] + [0] * 31],
        [0, 0, 0, 0, 0, 0, [None] + [0] * 31],
    ],
)
def test_termios_from_list_rejects_garbage(bad):
    with pytest.raises(ValueError):
        Termios.from_list(bad)


def test_termios_pack_unpack():
    attrs = Termios()
    attrs.cc[T.VMIN] = 7
    packed = attrs.pack()
    assert len(packed) == T.TERMIOS_SIZE == 60
    assert Termios.unpack(packed) == attrs
    with pytest.raises(ValueError):
        Termios.unpack(packed[:-1])


# -- canonical input and echo ---------------------------------------------------------------


def test_canonical_line_and_echo():
    ld = LineDiscipline()
    fx = ld.receive(b"hi")
    assert fx.echo == b"hi" and not fx.wake and fx.consumed == 2
    assert ld.read(100) is None
    fx = ld.receive(b"\n")
    assert fx.echo == b"\r\n" and fx.wake
    assert ld.read(100) == b"hi\n"
    assert ld.read(100) is None


def test_canonical_read_returns_one_line_at_a_time():
    ld = LineDiscipline()
    ld.receive(b"one\ntwo\n")
    assert ld.lines == 2
    assert ld.read(100) == b"one\n"
    assert ld.read(2) == b"tw"
    assert ld.read(100) == b"o\n"
    assert ld.read(100) is None


def test_icrnl_maps_cr_to_nl():
    ld = LineDiscipline()
    fx = ld.receive(b"ls\r")
    assert fx.wake and fx.echo == b"ls\r\n"
    assert ld.read(10) == b"ls\n"


def test_without_icrnl_cr_is_data():
    ld = make(iflag_off=T.ICRNL)
    ld.receive(b"a\rb\n")
    assert ld.read(10) == b"a\rb\n"


def test_igncr_drops_cr():
    ld = make(iflag_on=T.IGNCR)
    fx = ld.receive(b"a\r\nb\r\n")
    assert fx.echo == b"a\r\nb\r\n"  # only the LFs are echoed, each as CR LF
    assert ld.read(10) == b"a\n"
    assert ld.read(10) == b"b\n"


def test_inlcr_maps_nl_to_cr():
    ld = make(iflag_on=T.INLCR, iflag_off=T.ICRNL)
    ld.receive(b"x\n")
    assert ld.lines == 0  # the NL became CR, which is not a line end
    ld.receive(b"\x0b")
    assert ld.read(10) is None
    ld2 = make(iflag_on=T.INLCR)  # with ICRNL too: LF -> CR only; CR -> LF ends the line
    ld2.receive(b"x\ny\r")
    assert ld2.read(10) == b"x\ry\n"


def test_istrip():
    ld = make(iflag_on=T.ISTRIP)
    ld.receive(b"\xe1\x8a")  # 0x8a -> 0x0a: a newline
    assert ld.read(10) == b"a\n"


def test_echo_off_echoes_nothing():
    ld = make(lflag_off=T.ECHO)
    fx = ld.receive(b"secret\n")
    assert fx.echo == b"" and ld.read(100) == b"secret\n"


def test_echonl_echoes_only_newline():
    ld = make(lflag_off=T.ECHO, lflag_on=T.ECHONL)
    fx = ld.receive(b"pw\n")
    assert fx.echo == b"\r\n"
    assert ld.read(10) == b"pw\n"


def test_echoctl_shows_control_chars():
    ld = LineDiscipline()
    assert ld.receive(b"\x01").echo == b"^A"
    ld2 = make(lflag_off=T.ECHOCTL)
    assert ld2.receive(b"\x01").echo == b"\x01"
    assert ld2.receive(DEL).echo == b""  # it took no column, so there is nothing to back over
    assert ld2.queued == 0


def test_tab_echoes_as_spaces_to_tab_stop():
    ld = LineDiscipline()
    assert ld.receive(b"ab\t").echo == b"ab      "
    assert ld.receive(DEL).echo == b"\b \b" * 6
    assert ld.column == 2


def test_veol_ends_a_line():
    ld = make(VEOL=ord(";"))
    fx = ld.receive(b"a;b")
    assert fx.wake
    assert ld.read(10) == b"a;"
    assert ld.read(10) is None


# -- erase and kill -------------------------------------------------------------------------


def test_erase_with_echoe():
    ld = LineDiscipline()
    ld.receive(b"abc")
    fx = ld.receive(DEL)
    assert fx.echo == b"\b \b"
    ld.receive(b"\n")
    assert ld.read(10) == b"ab\n"


def test_erase_without_echoe_echoes_the_erase_char():
    ld = make(lflag_off=T.ECHOE)
    ld.receive(b"abc")
    assert ld.receive(DEL).echo == b"^?"
    ld2 = make(lflag_off=T.ECHOE | T.ECHOCTL, VERASE=0x08)
    ld2.receive(b"abc")
    assert ld2.receive(b"\x08").echo == b"\x08"
    ld2.receive(b"\n")
    assert ld2.read(10) == b"ab\n"


def test_erase_control_char_backs_over_two_columns():
    ld = LineDiscipline()
    ld.receive(b"a\x01")
    assert ld.receive(DEL).echo == b"\b \b\b \b"


def test_erase_on_empty_line_does_nothing_and_never_crosses_a_line():
    ld = LineDiscipline()
    assert ld.receive(DEL).echo == b""
    ld.receive(b"ab\n")
    fx = ld.receive(DEL * 3)
    assert fx.echo == b""
    assert ld.read(10) == b"ab\n"


def test_erase_with_echo_off_is_silent():
    ld = make(lflag_off=T.ECHO)
    ld.receive(b"ab")
    assert ld.receive(DEL).echo == b""
    ld.receive(b"\n")
    assert ld.read(10) == b"a\n"


def test_kill_with_echoe_erases_visually():
    ld = LineDiscipline()
    ld.receive(b"done\nabc")
    fx = ld.receive(CTRL_U)
    assert fx.echo == b"\b \b" * 3
    ld.receive(b"x\n")
    assert ld.read(10) == b"done\n"
    assert ld.read(10) == b"x\n"


def test_kill_without_echoe_with_echok():
    ld = make(lflag_off=T.ECHOE, lflag_on=T.ECHOK)
    ld.receive(b"abc")
    assert ld.receive(CTRL_U).echo == b"^U\r\n"
    ld.receive(b"z\n")
    assert ld.read(10) == b"z\n"


def test_kill_without_echoe_or_echok():
    ld = make(lflag_off=T.ECHOE | T.ECHOK)
    ld.receive(b"abc")
    assert ld.receive(CTRL_U).echo == b"^U"
    assert ld.queued == 0


def test_kill_on_empty_line_does_nothing():
    ld = make(lflag_off=T.ECHOE, lflag_on=T.ECHOK)
    assert ld.receive(CTRL_U).echo == b""


def test_word_erase_removes_the_last_word_and_trailing_blanks():
    ld = LineDiscipline()
    ld.receive(b"done\nls -l foo  ")
    fx = ld.receive(b"\x17")
    assert fx.echo == b"\b \b" * 5
    ld.receive(b"\x17")
    ld.receive(b"\x17\x17\x17")  # the line is empty: nothing more, never the line before
    ld.receive(b"x\n")
    assert ld.read(100) == b"done\n"
    assert ld.read(100) == b"x\n"


def test_word_erase_without_echoe_and_without_iexten():
    ld = make(lflag_off=T.ECHOE)
    ld.receive(b"a b")
    assert ld.receive(b"\x17").echo == b"^W"
    ld.receive(b"\n")
    assert ld.read(10) == b"a \n"
    ld2 = make(lflag_off=T.IEXTEN)
    ld2.receive(b"a b\x17\n")
    assert ld2.read(10) == b"a b\x17\n"


def test_reprint_echoes_the_current_line_again():
    ld = LineDiscipline()
    ld.receive(b"old\nab\x01")
    fx = ld.receive(b"\x12")
    assert fx.echo == b"^R\r\nab^A"
    assert ld.queued == 7
    ld2 = make(lflag_off=T.ECHO)
    ld2.receive(b"ab")
    assert ld2.receive(b"\x12").echo == b""


def test_disabled_control_char_is_data():
    ld = make(VERASE=0)
    ld.receive(b"a" + DEL + b"\n")
    assert ld.read(10) == b"a\x7f\n"


# -- ^V ------------------------------------------------------------------------------------


def test_lnext_quotes_erase():
    ld = LineDiscipline()
    ld.receive(b"a")
    fx = ld.receive(CTRL_V + DEL)
    assert fx.echo == b"^\b^?"
    ld.receive(b"\n")
    assert ld.read(10) == b"a\x7f\n"


def test_lnext_quotes_interrupt_and_newline():
    ld = LineDiscipline()
    fx = ld.receive(CTRL_V + CTRL_C)
    assert fx.signals == ()
    fx = ld.receive(CTRL_V + b"\n")
    assert not fx.wake  # a quoted newline does not end the line
    ld.receive(b"\n")
    assert ld.read(10) == b"\x03\n\n"


def test_lnext_quoted_char_can_be_erased():
    ld = LineDiscipline()
    ld.receive(CTRL_V + CTRL_C)
    assert ld.receive(DEL).echo == b"\b \b\b \b"
    assert ld.queued == 0


def test_lnext_needs_iexten():
    ld = make(lflag_off=T.IEXTEN)
    ld.receive(CTRL_V + b"\n")
    assert ld.read(10) == b"\x16\n"


# -- signals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "signo", "shown"),
    [(CTRL_C, SIGINT, b"^C"), (CTRL_BSL, SIGQUIT, b"^\\"), (CTRL_Z, SIGTSTP, b"^Z")],
)
def test_signal_chars_flush_and_report(key, signo, shown):
    ld = LineDiscipline()
    ld.receive(b"old\npartial")
    fx = ld.receive(key)
    assert fx.signals == (Signal(signo, flush=True),)
    assert fx.echo == shown
    assert ld.queued == 0 and ld.read(10) is None


def test_noflsh_keeps_input():
    ld = make(lflag_on=T.NOFLSH)
    ld.receive(b"ab")
    fx = ld.receive(CTRL_C)
    assert fx.signals == (Signal(SIGINT, flush=False),)
    ld.receive(b"\n")
    assert ld.read(10) == b"ab\n"


def test_isig_off_makes_ctrl_c_data():
    ld = make(lflag_off=T.ISIG)
    fx = ld.receive(CTRL_C + CTRL_BSL + CTRL_Z + b"\n")
    assert fx.signals == ()
    assert ld.read(10) == b"\x03\x1c\x1a\n"


def test_signal_in_raw_mode_with_isig():
    ld = make(lflag_off=T.ICANON | T.ECHO)
    ld.receive(b"ab")
    fx = ld.receive(CTRL_C)
    assert fx.signals == (Signal(SIGINT, True),) and ld.queued == 0


# -- EOF -----------------------------------------------------------------------------------


def test_eof_at_line_start_reads_empty():
    ld = LineDiscipline()
    fx = ld.receive(CTRL_D)
    assert fx.wake and fx.echo == b""
    assert ld.read(10) == b""
    assert ld.read(10) is None


def test_eof_mid_line_returns_partial_line_without_newline():
    ld = LineDiscipline()
    ld.receive(b"abc" + CTRL_D)
    assert ld.read(10) == b"abc"
    assert ld.read(10) is None
    ld.receive(b"abc" + CTRL_D + CTRL_D)
    assert ld.read(10) == b"abc"
    assert ld.read(10) == b""


def test_eof_partial_line_read_in_pieces_uses_up_marker():
    ld = LineDiscipline()
    ld.receive(b"abcd" + CTRL_D)
    assert ld.read(2) == b"ab"
    assert ld.read(2) == b"cd"
    assert ld.read(2) is None


def test_eof_cannot_be_erased():
    ld = LineDiscipline()
    ld.receive(b"ab" + CTRL_D + DEL)
    assert ld.read(10) == b"ab"


def test_eof_in_raw_mode_is_data():
    ld = raw(1, 0)
    ld.receive(CTRL_D)
    assert ld.read(10) == CTRL_D


# -- canonical limit -----------------------------------------------------------------------


def test_long_line_is_truncated_but_newline_ends_it():
    ld = LineDiscipline()
    fx = ld.receive(b"x" * 300)
    assert ld.queued == MAX_CANON == 255
    assert fx.echo == b"x" * 255 + b"\a" * 45  # IMAXBEL rings for each dropped char
    fx = ld.receive(b"\n")
    assert fx.wake
    assert ld.read(1000) == b"x" * 255 + b"\n"


def test_full_queue_drops_everything_until_read():
    ld = make(iflag_off=T.IMAXBEL)
    ld.receive(b"a" * 253 + b"\n")
    ld.receive(b"b")
    assert ld.queued == MAX_CANON
    fx = ld.receive(b"\n")  # the reserved cell
    assert ld.queued == MAX_INPUT and fx.wake
    fx = ld.receive(b"c\n" + CTRL_D)
    assert fx.echo == b"" and ld.queued == MAX_INPUT
    assert ld.read(1000) == b"a" * 253 + b"\n"
    assert ld.read(1000) == b"b\n"
    assert ld.read(1000) is None


def test_erase_works_on_full_line():
    ld = LineDiscipline()
    ld.receive(b"y" * 300 + DEL + b"z\n")
    assert ld.read(1000) == b"y" * 254 + b"z\n"


# -- raw mode: VMIN/VTIME ------------------------------------------------------------------


def test_raw_vmin_vtime_zero_returns_what_is_there():
    ld = raw(0, 0)
    assert ld.read_ready(10, 0.0)
    assert ld.read(10) == b""
    ld.receive(b"ab")
    assert ld.read(10) == b"ab"
    assert ld.timer() is None


def test_raw_vmin_waits_for_vmin_bytes():
    ld = raw(3, 0)
    fx = ld.receive(b"ab")
    assert fx.wake
    assert ld.read(10, 1.0) is None and ld.timer() is None
    ld.receive(b"c")
    assert ld.read(10, 2.0) == b"abc"


def test_raw_vmin_is_capped_by_read_size():
    ld = raw(5, 0)
    ld.receive(b"ab")
    assert ld.read(2) == b"ab"


def test_raw_vmin_zero_vtime_overall_timeout():
    ld = raw(0, 5)
    assert ld.read(10, 10.0) is None
    assert ld.timer() == pytest.approx(10.5)
    assert not ld.read_ready(10, 10.4)
    assert ld.read(10, 10.5) == b""
    assert ld.timer() is None
    assert ld.read(10, 20.0) is None
    ld.receive(b"q", now=20.1)
    assert ld.read(10, 20.1) == b"q"


def test_raw_vmin_zero_vtime_cancel_read_stops_timer():
    ld = raw(0, 5)
    assert ld.read(10, 1.0) is None
    ld.cancel_read()
    assert ld.timer() is None


def test_raw_inter_byte_timer():
    ld = raw(4, 2)
    assert ld.read(10, 0.0) is None
    assert ld.timer() is None  # no byte yet: wait forever
    ld.receive(b"a", now=1.0)
    assert ld.timer() == pytest.approx(1.2)
    assert ld.read(10, 1.1) is None
    ld.receive(b"b", now=1.15)  # restarts the inter-byte timer
    assert ld.timer() == pytest.approx(1.35)
    assert not ld.read_ready(10, 1.3)
    assert ld.read(10, 1.35) == b"ab"
    ld.receive(b"wxyz", now=2.0)
    assert ld.read(10, 2.0) == b"wxyz"


def test_switch_to_raw_with_vtime_delivers_old_input_after_the_timer():
    ld = LineDiscipline()
    ld.receive(b"ab", now=1.0)
    attrs = ld.get_attrs()
    attrs.lflag &= ~T.ICANON
    attrs.cc[T.VMIN], attrs.cc[T.VTIME] = 5, 1
    ld.set_attrs(attrs)
    assert ld.timer() == pytest.approx(1.1)
    assert ld.read(10, 1.05) is None
    assert ld.read(10, 1.1) == b"ab"


def test_raw_no_echo_processing_and_no_editing():
    ld = raw(1, 0, echo=True)
    fx = ld.receive(b"a" + DEL + b"\r")
    assert fx.echo == b"a^?\r\n"  # echo still honours ECHOCTL and output processing
    assert ld.read(10) == b"a\x7f\n"


def test_raw_queue_full_stops_receive():
    ld = raw(1, 0)
    fx = ld.receive(b"z" * 300)
    assert fx.consumed == MAX_INPUT and ld.queued == MAX_INPUT
    assert ld.read(1000) == b"z" * MAX_INPUT


def test_readable_for_select():
    ld = LineDiscipline()
    ld.receive(b"ab")
    assert not ld.readable()
    ld.receive(b"\n")
    assert ld.readable()
    r = raw(3, 0)
    r.receive(b"ab")
    assert not r.readable()
    r.receive(b"c")
    assert r.readable()
    t = raw(3, 1)
    t.receive(b"a")
    assert t.readable()


# -- set_attrs and flush -------------------------------------------------------------------


def test_tcsaflush_drops_pending_input():
    ld = LineDiscipline()
    ld.receive(b"typed ahead\n")
    ld.set_attrs(Termios(), T.TCSAFLUSH)
    assert ld.queued == 0 and ld.read(10) is None


@pytest.mark.parametrize("when", [T.TCSANOW, T.TCSADRAIN])
def test_tcsanow_and_drain_keep_input(when):
    ld = LineDiscipline()
    ld.receive(b"kept\n")
    ld.set_attrs(Termios(), when)
    assert ld.read(10) == b"kept\n"


def test_set_attrs_rejects_bad_action():
    with pytest.raises(ValueError):
        LineDiscipline().set_attrs(Termios(), 7)


def test_set_attrs_copies():
    attrs = Termios()
    ld = LineDiscipline()
    ld.set_attrs(attrs)
    attrs.lflag = 0
    assert ld.get_attrs().lflag & T.ICANON and ld.canonical


def test_switch_to_raw_makes_partial_line_readable_and_drops_eof():
    ld = LineDiscipline()
    ld.receive(CTRL_D + b"ab")
    rawattrs = ld.get_attrs()
    rawattrs.lflag &= ~T.ICANON
    assert ld.set_attrs(rawattrs)
    assert ld.read(10) == b"ab"


def test_switch_to_canonical_pushes_pending_raw_input():
    ld = raw(1, 0)
    ld.receive(b"xy")
    assert ld.set_attrs(Termios())
    assert ld.lines == 1
    assert ld.read(10) == b"xy"
    ld.receive(b"z")
    assert ld.read(10) is None


def test_flush_input_forgets_lnext():
    ld = LineDiscipline()
    ld.receive(CTRL_V)
    ld.flush_input()
    fx = ld.receive(CTRL_C)
    assert fx.signals == (Signal(SIGINT, True),)


def test_read_size_must_be_positive():
    with pytest.raises(ValueError):
        LineDiscipline().read(0)


# -- output --------------------------------------------------------------------------------


def test_write_onlcr():
    ld = LineDiscipline()
    assert ld.write(b"a\nb\n") == b"a\r\nb\r\n"
    assert ld.column == 0


def test_write_without_onlcr_or_opost():
    assert make(oflag_off=T.ONLCR).write(b"a\nb") == b"a\nb"
    ld = make(oflag_off=T.OPOST)
    assert ld.write(b"a\nb") == b"a\nb"
    assert ld.receive(b"\n").echo == b"\n"  # echo is output-processed too


def test_column_tracks_output_for_tab_echo():
    ld = LineDiscipline()
    ld.write(b"$ ")
    assert ld.receive(b"\t").echo == b" " * 6
    ld.write(b"\rab\x08")
    assert ld.column == 1


# -- properties ----------------------------------------------------------------------------

any_termios = st.builds(
    Termios,
    iflag=st.integers(0, 2**32 - 1),
    oflag=st.integers(0, 2**32 - 1),
    cflag=st.integers(0, 2**32 - 1),
    lflag=st.integers(0, 2**32 - 1),
    cc=st.lists(st.integers(0, 255), min_size=32, max_size=32),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("recv"), st.binary(max_size=300)),
        st.tuples(st.just("read"), st.integers(1, 400)),
        st.tuples(st.just("attrs"), any_termios),
        st.tuples(st.just("write"), st.binary(max_size=50)),
    ),
    max_size=20,
)


def check_invariants(ld):
    cells = list(ld._queue)
    assert ld.queued <= MAX_INPUT
    assert ld.lines == sum(c.eot for c in cells)
    assert ld.column >= 0


@given(start=any_termios, program=actions)
def test_property_garbage_never_raises_and_queue_is_bounded(start, program):
    ld = LineDiscipline(start)
    now = 0.0
    for kind, arg in program:
        now += 0.05
        if kind == "recv":
            fx = ld.receive(arg, now)
            assert 0 <= fx.consumed <= len(arg)
            if ld.canonical:
                assert fx.consumed == len(arg)
            elif fx.consumed < len(arg):
                assert ld.queued == MAX_INPUT
        elif kind == "read":
            got = ld.read(arg, now)
            assert got is None or len(got) <= arg
            ld.timer()
            ld.readable()
        elif kind == "attrs":
            ld.set_attrs(arg, T.TCSANOW)
        else:
            ld.write(arg)
        check_invariants(ld)


printable_lines = st.lists(
    st.binary(max_size=60).map(lambda b: bytes(0x20 + c % 95 for c in b)), max_size=8
)


@given(lines=printable_lines, onlcr=st.booleans())
def test_property_canonical_reads_and_echo_match_input(lines, onlcr):
    ld = make(oflag_off=0 if onlcr else T.ONLCR)
    typed = b"".join(line + b"\n" for line in lines)
    fx = ld.receive(typed)
    expected_echo = typed.replace(b"\n", b"\r\n") if onlcr else typed
    assert fx.echo == expected_echo
    got = []
    while (chunk := ld.read(7)) is not None:
        got.append(chunk)
    assert b"".join(got) == typed
    assert ld.queued == 0


@given(
    # At most 8 * 21 + 40 bytes: within MAX_CANON, so no line is dropped for room.
    before=st.lists(
        st.binary(max_size=20).map(lambda b: bytes(0x20 + c % 95 for c in b)), max_size=8
    ),
    word=st.binary(max_size=40).map(lambda b: bytes(0x21 + c % 94 for c in b)),
    erases=st.integers(1, 50),
)
def test_property_erase_removes_one_char_never_crossing_a_line(before, word, erases):
    ld = LineDiscipline()
    done = b"".join(line + b"\n" for line in before)
    ld.receive(done + word)
    fx = ld.receive(DEL)
    assert fx.echo == (b"\b \b" if word else b"")
    assert ld.queued == len(done) + max(len(word) - 1, 0)
    ld.receive(DEL * erases)
    ld.receive(b"\n")
    got = []
    while (chunk := ld.read(1000)) is not None:
        got.append(chunk)
    left = word[: max(len(word) - 1 - erases, 0)]
    assert got == [line + b"\n" for line in before] + [left + b"\n"]
