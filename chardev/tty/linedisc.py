"""The TTY line discipline: termios input processing, echo, reads and output processing.

A :class:`LineDiscipline` is pure and synchronous: it holds one terminal's settings and
its input queue, and knows nothing of IPC, processes or time sources. The TTY driver
(console and pty slaves alike) feeds it the bytes typed on the "keyboard" with
:meth:`~LineDiscipline.receive`, writes the echo it returns to the "screen", raises the
signals it reports on the foreground process group, and retries suspended reads when it
says readers may be woken. The driver owns every timer: for a pending raw-mode read it
asks :meth:`~LineDiscipline.timer` which absolute deadline to arm and calls
:meth:`~LineDiscipline.read` again when it fires. ``now`` is any monotonic clock in
seconds (the driver passes the kernel's simulated time).

Semantics follow MINIX's ``tty.c`` and Linux's ``n_tty`` (docs/tty.md says which, where
they differ). The queue holds at most ``MAX_INPUT`` (256, MINIX's ``TTY_IN_BYTES``)
cells. In canonical mode an ordinary character is stored only while fewer than
``MAX_CANON`` (255) cells are queued, so the last cell is always kept for a line
terminator: an over-long line is truncated (the dropped characters are not echoed; a
BEL is, with ``IMAXBEL``) and its newline still ends it, as Linux does. In raw mode a
full queue stops :meth:`~LineDiscipline.receive`, which reports how many bytes it
consumed so that a pty master writer can stay blocked on the rest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

from chardev.tty.termios import (
    ECHO,
    ECHOCTL,
    ECHOE,
    ECHOK,
    ECHONL,
    ICANON,
    ICRNL,
    IEXTEN,
    IGNCR,
    IMAXBEL,
    INLCR,
    ISIG,
    ISTRIP,
    NOFLSH,
    ONLCR,
    OPOST,
    TCSADRAIN,
    TCSAFLUSH,
    TCSANOW,
    VEOF,
    VEOL,
    VERASE,
    VINTR,
    VKILL,
    VLNEXT,
    VMIN,
    VQUIT,
    VREPRINT,
    VSUSP,
    VTIME,
    VWERASE,
    Termios,
)

MAX_INPUT: Final = 256
MAX_CANON: Final = 255

# Linux signal numbers, the same as servers.pm.protocol's (kept local: no IPC imports).
SIGINT: Final = 2
SIGQUIT: Final = 3
SIGTSTP: Final = 20

_CR: Final = 0x0D
_NL: Final = 0x0A
_TAB: Final = 0x09
_BS: Final = 0x08
_DEL: Final = 0x7F
_BEL: Final = b"\a"
_BLANKS: Final = (0x20, _TAB)
_TAB_STOP: Final = 8
_SIGNAL_CHARS: Final = ((VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP))


@dataclass(frozen=True, slots=True)
class Signal:
    """Raise ``signo`` on the foreground process group; with ``flush``, cancel pending output.

    The discipline has already dropped its input queue when ``flush`` is true.
    """

    signo: int
    flush: bool


@dataclass(frozen=True, slots=True)
class Effects:
    """What :meth:`LineDiscipline.receive` asks of the driver.

    Attributes:
        echo: bytes to write to the terminal, already output-processed.
        signals: signals to raise, in order.
        wake: input became readable: retry suspended reads and selects.
        consumed: how many input bytes were taken; fewer than given only in raw mode
            with a full queue (the driver keeps the rest, or drops them for a keyboard).
    """

    echo: bytes = b""
    signals: tuple[Signal, ...] = ()
    wake: bool = False
    consumed: int = 0


@dataclass(slots=True)
class _Cell:
    """One queued input character."""

    ch: int
    width: int  # screen columns its echo took, which an erase backs over
    eot: bool = False  # ends a canonical line
    eof: bool = False  # the VEOF marker: ends a line, never delivered


@dataclass(slots=True)
class _Batch:
    """Effects being accumulated during one receive call."""

    echo: bytearray = field(default_factory=bytearray)
    signals: list[Signal] = field(default_factory=list)
    wake: bool = False


class LineDiscipline:
    """One terminal's termios settings, input queue and echo column.

    Attributes:
        column: the cursor column as the discipline's own output left it (for tab echo).
    """

    def __init__(self, attrs: Termios | None = None) -> None:
        self._attrs = attrs.copy() if attrs is not None else Termios()
        self.column = 0
        self._queue: deque[_Cell] = deque()
        self._lines = 0
        self._lnext = False
        self._last_byte_at: float | None = None
        self._read_started_at: float | None = None

    # -- settings --------------------------------------------------------------------------

    def get_attrs(self) -> Termios:
        """Return a copy of the current settings."""
        return self._attrs.copy()

    @property
    def lflag(self) -> int:
        """The local modes now in force (the driver tests TOSTOP on every write)."""
        return self._attrs.lflag

    def set_attrs(self, attrs: Termios, when: int = TCSANOW) -> bool:
        """Install ``attrs``; return whether pending reads should be retried.

        ``TCSADRAIN`` and ``TCSAFLUSH`` expect the driver to have drained output first;
        ``TCSAFLUSH`` also drops pending input. Switching to raw mode drops queued EOF
        markers; switching to canonical mode turns pending raw input into one readable
        line (Linux's behaviour).

        Raises:
            ValueError: ``when`` is not a TCSA* action (the driver answers EINVAL).
        """
        if when not in (TCSANOW, TCSADRAIN, TCSAFLUSH):
            raise ValueError(f"bad tcsetattr action {when}")
        was_canonical = self.canonical
        self._attrs = attrs.copy()
        if when == TCSAFLUSH:
            self.flush_input()
        if was_canonical and not self.canonical:
            self._lnext = False
            self._drop_eof_markers()
        elif not was_canonical and self.canonical:
            self._push_partial_line()
        return not self.canonical or self._lines > 0

    @property
    def canonical(self) -> bool:
        """Whether ICANON (line editing, line-at-a-time reads) is on."""
        return bool(self._attrs.lflag & ICANON)

    @property
    def queued(self) -> int:
        """Cells in the input queue (EOF markers included); never above ``MAX_INPUT``."""
        return len(self._queue)

    @property
    def lines(self) -> int:
        """Complete lines in the input queue."""
        return self._lines

    def flush_input(self) -> None:
        """Drop all pending input (and a pending ^V)."""
        self._queue.clear()
        self._lines = 0
        self._lnext = False
        self._last_byte_at = None

    # -- input -----------------------------------------------------------------------------

    def receive(self, data: bytes, now: float = 0.0) -> Effects:
        """Process bytes typed on the terminal; never raises, whatever the bytes.

        ``now`` is the arrival time, which starts the raw-mode inter-byte timer.
        """
        batch = _Batch()
        consumed = 0
        for ch in data:
            if not self._receive_byte(ch, batch, now):
                break
            consumed += 1
        return Effects(bytes(batch.echo), tuple(batch.signals), batch.wake, consumed)

    def _receive_byte(self, ch: int, out: _Batch, now: float) -> bool:
        """Process one byte; return False if raw mode's full queue cannot take it."""
        if self._attrs.iflag & ISTRIP:
            ch &= 0x7F
        if self._lnext:
            self._lnext = False
            return self._store(ch, out, now, literal=True)
        if self._attrs.lflag & ISIG and self._signal(ch, out):
            return True
        mapped = self._map_cr_nl(ch)
        if mapped is None:
            return True
        if self.canonical and self._edit(mapped, out):
            return True
        return self._store(mapped, out, now, literal=False)

    def _is(self, ch: int, index: int) -> bool:
        """Whether ``ch`` is the (enabled) control character ``cc[index]``."""
        value = self._attrs.cc[index]
        return value != 0 and ch == value

    def _signal(self, ch: int, out: _Batch) -> bool:
        """Handle VINTR/VQUIT/VSUSP: flush unless NOFLSH, report, echo the char."""
        for index, signo in _SIGNAL_CHARS:
            if self._is(ch, index):
                flush = not self._attrs.lflag & NOFLSH
                if flush:
                    self.flush_input()
                out.signals.append(Signal(signo, flush))
                if self._attrs.lflag & ECHO:
                    self._echo_char(ch, out)
                return True
        return False

    def _map_cr_nl(self, ch: int) -> int | None:
        """Apply IGNCR/ICRNL/INLCR; None means the byte is ignored."""
        iflag = self._attrs.iflag
        if ch == _CR:
            if iflag & IGNCR:
                return None
            return _NL if iflag & ICRNL else ch
        if ch == _NL and iflag & INLCR:
            return _CR
        return ch

    def _edit(self, ch: int, out: _Batch) -> bool:
        """Canonical editing characters (erase, kill, ^V, EOF); True if ``ch`` was one."""
        if self._is(ch, VERASE):
            self._erase(ch, out)
        elif self._is(ch, VKILL):
            self._kill(ch, out)
        elif self._is(ch, VEOF):
            self._store_eof(out)
        elif self._attrs.lflag & IEXTEN:
            return self._edit_extended(ch, out)
        else:
            return False
        return True

    def _edit_extended(self, ch: int, out: _Batch) -> bool:
        """IEXTEN editing characters (^V, ^W, ^R); True if ``ch`` was one."""
        if self._is(ch, VLNEXT):
            self._lnext = True
            if self._attrs.lflag & ECHO and self._attrs.lflag & ECHOCTL:
                self._emit(b"^\b", out)
        elif self._is(ch, VWERASE):
            self._word_erase(ch, out)
        elif self._is(ch, VREPRINT):
            self._reprint(ch, out)
        else:
            return False
        return True

    def _editable(self) -> bool:
        """Whether the current (unfinished) line has a character to erase."""
        return bool(self._queue) and not self._queue[-1].eot

    def _erase(self, ch: int, out: _Batch) -> None:
        """VERASE: remove the last character of the current line, never a line break."""
        if not self._editable():
            return
        cell = self._queue.pop()
        lflag = self._attrs.lflag
        if lflag & ECHO:
            if lflag & ECHOE:
                self._emit(b"\b \b" * cell.width, out)
            else:
                self._echo_char(ch, out)

    def _word_erase(self, ch: int, out: _Batch) -> None:
        """VWERASE: erase trailing blanks, then the word before them (POSIX's rule)."""
        if not self._editable():
            return
        lflag = self._attrs.lflag
        visual = bool(lflag & ECHO and lflag & ECHOE)
        in_word = False
        while self._editable():
            blank = self._queue[-1].ch in _BLANKS
            if in_word and blank:
                break
            in_word = in_word or not blank
            cell = self._queue.pop()
            if visual:
                self._emit(b"\b \b" * cell.width, out)
        if lflag & ECHO and not visual:
            self._echo_char(ch, out)

    def _reprint(self, ch: int, out: _Batch) -> None:
        """VREPRINT: echo the char and a newline, then the current line again."""
        if not self._attrs.lflag & ECHO:
            return
        self._echo_char(ch, out)
        self._emit(b"\n", out)
        start = len(self._queue)
        while start > 0 and not self._queue[start - 1].eot:
            start -= 1
        for index in range(start, len(self._queue)):
            cell = self._queue[index]
            cell.width = self._echo_char(cell.ch, out)

    def _kill(self, ch: int, out: _Batch) -> None:
        """VKILL: remove the current line; echo as ECHOE/ECHOK say (MINIX's rules)."""
        if not self._editable():
            return
        lflag = self._attrs.lflag
        visual = bool(lflag & ECHO and lflag & ECHOE)
        while self._editable():
            cell = self._queue.pop()
            if visual:
                self._emit(b"\b \b" * cell.width, out)
        if lflag & ECHO and not visual:
            self._echo_char(ch, out)
            if lflag & ECHOK:
                self._emit(b"\n", out)

    def _store_eof(self, out: _Batch) -> None:
        """VEOF: end the line with a marker that reads drop (not echoed, as on Linux)."""
        if len(self._queue) >= MAX_INPUT:
            return
        self._queue.append(_Cell(self._attrs.cc[VEOF], 0, eot=True, eof=True))
        self._lines += 1
        out.wake = True

    def _store(self, ch: int, out: _Batch, now: float, *, literal: bool) -> bool:
        """Queue a data character and echo it; False if raw mode's queue is full."""
        if self.canonical:
            eot = not literal and (ch == _NL or self._is(ch, VEOL))
            if len(self._queue) >= (MAX_INPUT if eot else MAX_CANON):
                if self._attrs.iflag & IMAXBEL and self._attrs.lflag & ECHO:
                    self._emit(_BEL, out)
                return True
        elif len(self._queue) >= MAX_INPUT:
            return False
        else:
            eot = False
        self._last_byte_at = now
        width = self._echo_stored(ch, eot, out)
        self._queue.append(_Cell(ch, width, eot=eot))
        if eot:
            self._lines += 1
        out.wake = out.wake or eot or not self.canonical
        return True

    def _echo_stored(self, ch: int, eot: bool, out: _Batch) -> int:
        """Echo a stored character per ECHO/ECHONL; return the columns it took."""
        lflag = self._attrs.lflag
        if lflag & ECHO:
            return self._echo_char(ch, out)
        if eot and ch == _NL and lflag & ECHONL:
            self._emit(b"\n", out)
        return 0

    def _echo_char(self, ch: int, out: _Batch) -> int:
        """Echo one character as a terminal shows it; return the columns it took.

        Tabs become spaces to the next tab stop (as MINIX does, so an erase can back over
        them exactly); with ECHOCTL other control characters and DEL show as ``^X``.
        """
        if ch == _TAB:
            width = _TAB_STOP - self.column % _TAB_STOP
            self._emit(b" " * width, out)
            return width
        if ch in (_NL, _CR):
            self._emit(bytes([ch]), out)
            return 0
        control = ch < 0x20 or ch == _DEL
        if control and self._attrs.lflag & ECHOCTL:
            self._emit(bytes([ord("^"), ch ^ 0x40]), out)
            return 2
        self._emit(bytes([ch]), out)
        return 0 if control else 1

    def _emit(self, data: bytes, out: _Batch) -> None:
        out.echo += self.write(data)

    def _drop_eof_markers(self) -> None:
        kept = [cell for cell in self._queue if not cell.eof]
        self._queue = deque(kept)
        self._lines = sum(cell.eot for cell in kept)

    def _push_partial_line(self) -> None:
        if self._queue and not self._queue[-1].eot:
            self._queue[-1].eot = True
            self._lines += 1

    # -- reads -----------------------------------------------------------------------------

    def read(self, n: int, now: float = 0.0) -> bytes | None:
        """Take up to ``n`` bytes of input, or return None: the reader must wait.

        Canonical mode returns at most one line (its newline included) once a line is
        complete; an EOF marker is dropped, so ^D at the start of a line gives ``b""``
        and ^D after a partial line gives that line without a newline. Raw mode follows
        VMIN/VTIME (see :meth:`read_ready`); a read that must wait starts the VMIN=0
        overall timer, and :meth:`timer` gives its deadline.

        Raises:
            ValueError: ``n`` is not positive (the driver answers EINVAL).
        """
        if n <= 0:
            raise ValueError("read size must be positive")
        if self.canonical:
            return self._read_line(n) if self._lines else None
        if not self.read_ready(n, now):
            if self._read_started_at is None:
                self._read_started_at = now
            return None
        return self._take(n)

    def cancel_read(self) -> None:
        """Forget a pending read (interrupted or cancelled): its overall timer stops."""
        self._read_started_at = None

    def read_ready(self, n: int, now: float) -> bool:
        """Whether :meth:`read` of ``n`` bytes at ``now`` would complete (pure query).

        Raw mode: VMIN=0,VTIME=0 always; VMIN>0,VTIME=0 once min(VMIN, n) bytes are
        queued; VMIN=0,VTIME>0 once a byte is queued or VTIME tenths of a second have
        passed since the read started; VMIN>0,VTIME>0 once min(VMIN, n) bytes are
        queued or, after the first byte, VTIME tenths have passed since the last byte.
        """
        if self.canonical:
            return self._lines > 0
        vmin, vtime = self._attrs.cc[VMIN], self._attrs.cc[VTIME]
        if vmin == 0 and vtime == 0:
            return True
        if len(self._queue) >= max(1, min(vmin, n)):
            return True
        deadline = self._deadline(now)
        return deadline is not None and now >= deadline

    def timer(self) -> float | None:
        """The absolute time at which a pending raw read may complete, or None: no timer.

        The driver arms it after :meth:`read` returned None and after every
        :meth:`receive`, and calls :meth:`read` again when it fires.
        """
        if self.canonical or (self._attrs.cc[VMIN] == 0 and self._read_started_at is None):
            return None
        return self._deadline(0.0)

    def readable(self) -> bool:
        """Select's view (Linux's): a line, or min(VMIN) bytes when VTIME=0, else one byte."""
        if self.canonical:
            return self._lines > 0
        vmin, vtime = self._attrs.cc[VMIN], self._attrs.cc[VTIME]
        needed = vmin if vmin > 0 and vtime == 0 else 1
        return len(self._queue) >= needed

    def _deadline(self, now: float) -> float | None:
        """Raw mode's VTIME deadline, measured from the read's start or the last byte."""
        vmin, vtime = self._attrs.cc[VMIN], self._attrs.cc[VTIME]
        if vtime == 0:
            return None
        if vmin == 0:
            start = self._read_started_at if self._read_started_at is not None else now
            return start + vtime / 10
        if self._queue and self._last_byte_at is not None:
            return self._last_byte_at + vtime / 10
        return None

    def _read_line(self, n: int) -> bytes:
        """Deliver up to ``n`` bytes of the first line, never crossing its end."""
        data = bytearray()
        ended = False
        while self._queue and len(data) < n and not ended:
            cell = self._pop()
            ended = cell.eot
            if not cell.eof:
                data.append(cell.ch)
        if not ended and self._queue and self._queue[0].eof:
            self._pop()  # the line's data is all delivered: the EOF marker is used up
        self._read_started_at = None
        return bytes(data)

    def _take(self, n: int) -> bytes:
        """Deliver up to ``n`` raw bytes."""
        data = bytearray()
        while self._queue and len(data) < n:
            cell = self._pop()
            if not cell.eof:
                data.append(cell.ch)
        self._read_started_at = None
        return bytes(data)

    def _pop(self) -> _Cell:
        cell = self._queue.popleft()
        if cell.eot:
            self._lines -= 1
        return cell

    # -- output ----------------------------------------------------------------------------

    def write(self, data: bytes) -> bytes:
        """Output-process ``data`` for the terminal (OPOST|ONLCR: LF -> CR LF).

        Without OPOST the bytes pass unchanged. Either way the echo column is updated.
        """
        oflag = self._attrs.oflag
        if oflag & OPOST and oflag & ONLCR:
            data = data.replace(b"\n", b"\r\n")
        self._advance_column(data)
        return bytes(data)

    def _advance_column(self, data: bytes) -> None:
        cr = data.rfind(b"\r")
        if cr >= 0:
            self.column = 0
            data = data[cr + 1 :]
        for ch in data:
            if ch == _TAB:
                self.column += _TAB_STOP - self.column % _TAB_STOP
            elif ch == _BS:
                self.column = max(0, self.column - 1)
            elif ch >= 0x20 and ch != _DEL:
                self.column += 1
