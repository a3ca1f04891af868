"""The fake terminal: a user at a VT100, for tests and for driving the console from Python.

:class:`FakeTerminal` sits on the host side of the console hardware
(:class:`kernel.hw.console.Console`): :meth:`~FakeTerminal.send` types keys into the
keyboard, and every byte the TTY driver writes to the screen is fed, as it arrives, to a
``pyte`` VT100 emulator, so :attr:`~FakeTerminal.screen` is what a person would see.
:meth:`~FakeTerminal.expect` waits for text to appear on that screen.

Like ``asynix.System``, it runs outside the simulation: it uses anyio primitives and the
anyio clock (virtual time under trio's ``MockClock``), and must never be called from a
simulated process. Writes to the screen wake waiting :meth:`~FakeTerminal.expect` calls
through an anyio event that the writer only *sets* — never a choice point, never a poll.

Keys: plain text is sent as UTF-8; control keys are bytes, available as class constants
(``FakeTerminal.CTRL_C``, ``ENTER``, ``UP``...) and through :func:`ctrl`.

Like a VT100, the terminal answers the host's queries by "typing" the answer: a device
status report request (``ESC [ 6 n``) puts the cursor position report on the keyboard,
and a device attributes request (``ESC [ c``) the VT102 identity ``ESC [ ? 6 c``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Final

import anyio
import pyte

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel.hw.console import Console

__all__ = [
    "BACKSPACE",
    "CTRL_BACKSLASH",
    "CTRL_C",
    "CTRL_D",
    "CTRL_U",
    "CTRL_Z",
    "DOWN",
    "ENTER",
    "ESC",
    "LEFT",
    "RIGHT",
    "TAB",
    "UP",
    "FakeTerminal",
    "ctrl",
]


def ctrl(key: str) -> bytes:
    r"""The byte a terminal sends for Ctrl+``key`` (``ctrl("c") == b"\x03"``).

    ``key`` is a letter or one of ``@[\]^_`` (``ctrl("?")`` is DEL, as on a VT100).

    Raises:
        ValueError: ``key`` has no control code.
    """
    if key == "?":
        return b"\x7f"
    if len(key) == 1 and "@" <= key.upper() <= "_":
        return bytes([ord(key.upper()) & 0x1F])
    raise ValueError(f"no control code for {key!r}")


ENTER: Final = b"\r"
"""Return, as a terminal sends it (the TTY's ICRNL turns it into a newline)."""
TAB: Final = b"\t"
BACKSPACE: Final = b"\x7f"
"""The VT100 backspace key sends DEL (the usual VERASE)."""
ESC: Final = b"\x1b"
CTRL_C: Final = ctrl("c")
CTRL_D: Final = ctrl("d")
CTRL_U: Final = ctrl("u")
CTRL_Z: Final = ctrl("z")
CTRL_BACKSLASH: Final = ctrl("\\")
UP: Final = b"\x1b[A"
DOWN: Final = b"\x1b[B"
RIGHT: Final = b"\x1b[C"
LEFT: Final = b"\x1b[D"


class _VT100(pyte.Screen):
    """pyte's screen, with the terminal's answers to the host sent back as keystrokes."""

    def __init__(self, cols: int, rows: int, answer: Callable[[bytes], object]) -> None:
        super().__init__(cols, rows)
        self._answer = answer

    def write_process_input(self, data: str) -> None:
        """Send a report (cursor position, identity) back as if typed."""
        self._answer(data.encode())


class FakeTerminal:
    """A VT100 on the console: type keys, read the screen, wait for text.

    The key constants of this module are also class attributes
    (``FakeTerminal.CTRL_C``, ``FakeTerminal.ENTER``, ...).
    """

    ENTER: ClassVar[bytes] = ENTER
    TAB: ClassVar[bytes] = TAB
    BACKSPACE: ClassVar[bytes] = BACKSPACE
    ESC: ClassVar[bytes] = ESC
    CTRL_C: ClassVar[bytes] = CTRL_C
    CTRL_D: ClassVar[bytes] = CTRL_D
    CTRL_U: ClassVar[bytes] = CTRL_U
    CTRL_Z: ClassVar[bytes] = CTRL_Z
    CTRL_BACKSLASH: ClassVar[bytes] = CTRL_BACKSLASH
    UP: ClassVar[bytes] = UP
    DOWN: ClassVar[bytes] = DOWN
    RIGHT: ClassVar[bytes] = RIGHT
    LEFT: ClassVar[bytes] = LEFT

    def __init__(self, console: Console) -> None:
        """Sit down at ``console``; output already on its screen is rendered first."""
        self.console = console
        rows, cols = console.screen.size
        self._vt = _VT100(cols, rows, console.keyboard.press)
        self._stream = pyte.ByteStream(self._vt)
        self._changed: anyio.Event | None = None
        self._stream.feed(console.screen.output)
        self._stop = console.screen.listen(self._on_output)

    # -- the user's side -------------------------------------------------------------

    def send(self, keys: str | bytes) -> int:
        """Type ``keys`` (str is sent as UTF-8); returns how many bytes the keyboard took.

        A full keyboard buffer drops the rest, as real hardware does (the count is less
        than the length then, and ``console.keyboard.overruns`` grows).
        """
        data = keys.encode() if isinstance(keys, str) else bytes(keys)
        return self.console.keyboard.press(data)

    def resize(self, rows: int, cols: int) -> None:
        """Resize the window: the emulator's screen and the hardware (which tells the TTY)."""
        self.console.screen.resize(rows, cols)
        self._vt.resize(rows, cols)
        self._wake()

    # -- what the user sees ----------------------------------------------------------

    @property
    def output(self) -> bytes:
        """Every byte written to the screen so far, escape sequences included."""
        return self.console.screen.output

    @property
    def screen(self) -> list[str]:
        """The screen as a VT100 shows it: one string per row, trailing spaces stripped."""
        return [line.rstrip(" ") for line in self._vt.display]

    @property
    def text(self) -> str:
        """The screen's rows joined with newlines (what :meth:`expect` searches)."""
        return "\n".join(self.screen)

    @property
    def cursor(self) -> tuple[int, int]:
        """The cursor position as ``(row, col)``, counted from 0."""
        return (self._vt.cursor.y, self._vt.cursor.x)

    @property
    def size(self) -> tuple[int, int]:
        """The window size as ``(rows, cols)``."""
        return (self._vt.lines, self._vt.columns)

    # DESIGN §6 fixes this pexpect-style signature, hence the timeout parameter.
    async def expect(
        self,
        pattern: str | re.Pattern[str],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> re.Match[str]:
        """Wait until ``pattern`` appears on the screen; return the match.

        A str is searched for literally in the screen's rows as the VT100 holds them
        (padded with blanks to the screen's width, so a prompt ending in a space, as
        ``"name? "``, matches); a compiled pattern with ``search`` in :attr:`text` (rows
        with trailing blanks stripped, so ``^hello$`` with ``re.M`` anchors as
        expected). ``timeout`` is in seconds of the anyio clock (virtual time under
        trio's ``MockClock``).

        Raises:
            TimeoutError: the pattern did not appear in time (the message shows the screen).
        """
        literal = not isinstance(pattern, re.Pattern)
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        with anyio.move_on_after(timeout):
            while True:
                changed = self._changed
                if changed is None:
                    changed = self._changed = anyio.Event()
                text = "\n".join(self._vt.display) if literal else self.text
                if (match := regex.search(text)) is not None:
                    return match
                await changed.wait()
        screen = "\n".join(f"|{line}" for line in self.screen)
        raise TimeoutError(
            f"{regex.pattern!r} did not appear on the screen within {timeout}s; screen:\n{screen}"
        )

    def close(self) -> None:
        """Stop rendering the screen's output (the terminal is switched off)."""
        self._stop()

    # -- the screen's listener -------------------------------------------------------

    def _on_output(self, data: bytes) -> None:
        """Render bytes the driver wrote; runs inside the driver's write, so never blocks."""
        self._stream.feed(data)
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
