"""The console: a keyboard controller and a screen, as hardware with no policy in it.

The host side (``asynix.FakeTerminal``, or the CLI's real terminal) plays the user: it
types into the :class:`Keyboard` and watches the :class:`Screen`. The TTY driver, a
simulated process, is the only thing inside the simulation that touches either, and it
does so the way a driver touches a device:

- :meth:`Keyboard.press` queues bytes in the controller's bounded buffer and raises
  :data:`KEYBOARD_IRQ` for the process attached as the keyboard's driver (a notification
  from HARDWARE, through ``Kernel.interrupt``); the driver's interrupt handler drains the
  buffer with :meth:`Keyboard.read`. A full buffer drops what does not fit and counts it
  in :attr:`Keyboard.overruns`, as a controller's overrun does; nothing here ever blocks.
- :meth:`Screen.write` takes the driver's raw output bytes (after its output processing:
  ONLCR and the rest are the driver's business). The screen keeps every byte
  (:attr:`Screen.output`) and passes each write to its listeners, which is how the fake
  terminal renders a VT100 picture. Listeners run inside the writer's call and must be
  quick and must not raise or block.
- :meth:`Screen.resize` is the user resizing the window: it records the new size, sets the
  *resized* flag and raises :data:`RESIZE_IRQ` for the screen's driver, which reads and
  clears the flag with :meth:`Screen.take_resize` (and turns it into TIOCSWINSZ/SIGWINCH).

IRQ numbers are bits in the driver's pending-interrupt set, so they only need to be
distinct for one driver. :data:`KEYBOARD_IRQ` is 1, the PC keyboard's line;
:data:`RESIZE_IRQ` is 2, the PC's cascade line, which never belongs to a device there and
so cannot collide with a real one here.

Host-side calls (press, resize) must come from the event loop's own thread: raising an
interrupt touches the kernel, which is not thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

import structlog

if TYPE_CHECKING:
    from kernel.proc import Proc

__all__ = [
    "DEFAULT_COLS",
    "DEFAULT_ROWS",
    "KEYBOARD_BUFFER",
    "KEYBOARD_IRQ",
    "RESIZE_IRQ",
    "Console",
    "InterruptController",
    "Keyboard",
    "Screen",
    "ScreenListener",
]

KEYBOARD_IRQ: Final = 1
"""The keyboard's interrupt line (IRQ 1, as on a PC)."""

RESIZE_IRQ: Final = 2
"""The screen's "window resized" line (IRQ 2: the PC cascade line, never a device's)."""

KEYBOARD_BUFFER: Final = 4096
"""Default capacity of the keyboard controller's buffer, in bytes."""

DEFAULT_ROWS: Final = 24
"""Rows of a screen nobody has resized (a VT100's)."""

DEFAULT_COLS: Final = 80
"""Columns of a screen nobody has resized (a VT100's)."""

_log = structlog.get_logger("kernel.hw.console")

ScreenListener: TypeAlias = Callable[[bytes], None]
"""A screen listener: called with each chunk of bytes written, in order."""


class InterruptController(Protocol):
    """What the console needs from the kernel: a way to raise an IRQ for a driver."""

    def interrupt(self, irq: int, proc: Proc) -> None:
        """Raise ``irq`` for driver ``proc`` (a notification from HARDWARE)."""


class _Line:
    """One interrupt line wired to a driver process (or to nothing yet)."""

    __slots__ = ("irq", "pic", "proc")

    def __init__(self, irq: int) -> None:
        self.irq = irq
        self.pic: InterruptController | None = None
        self.proc: Proc | None = None

    def attach(self, pic: InterruptController, proc: Proc, irq: int) -> None:
        self.pic, self.proc, self.irq = pic, proc, irq

    def detach(self) -> None:
        self.pic = self.proc = None

    def raise_(self) -> None:
        if self.pic is not None and self.proc is not None:
            self.pic.interrupt(self.irq, self.proc)


class Keyboard:
    """The keyboard controller: a bounded byte buffer the host fills and the driver drains.

    Attributes:
        capacity: how many bytes the buffer holds before it overruns.
        overruns: bytes dropped because the buffer was full, since power-on.
    """

    def __init__(self, capacity: int = KEYBOARD_BUFFER) -> None:
        """Make an empty keyboard whose buffer holds ``capacity`` bytes."""
        if capacity <= 0:
            raise ValueError(f"keyboard capacity must be positive, not {capacity}")
        self.capacity = capacity
        self.overruns = 0
        self._buffer = bytearray()
        self._line = _Line(KEYBOARD_IRQ)

    @property
    def pending(self) -> int:
        """Bytes waiting in the buffer for the driver."""
        return len(self._buffer)

    @property
    def driver(self) -> Proc | None:
        """The process the keyboard interrupts, if one is attached."""
        return self._line.proc

    def attach(self, pic: InterruptController, proc: Proc, irq: int = KEYBOARD_IRQ) -> None:
        """Wire the keyboard's interrupt to driver ``proc`` (a restarted driver re-attaches).

        If keys are already waiting, the interrupt is raised at once so the new driver
        drains them (a level-triggered line that is still asserted).
        """
        self._line.attach(pic, proc, irq)
        if self._buffer:
            self._line.raise_()

    def detach(self) -> None:
        """Disconnect the interrupt; keys still queue (and overrun) until a driver attaches."""
        self._line.detach()

    def press(self, data: bytes) -> int:
        """The user types ``data``; returns how many bytes the buffer accepted.

        Bytes that do not fit are dropped and counted in :attr:`overruns`. The interrupt
        is raised when at least one byte was accepted.
        """
        room = self.capacity - len(self._buffer)
        taken = min(room, len(data))
        self._buffer += data[:taken]
        dropped = len(data) - taken
        if dropped:
            self.overruns += dropped
            _log.debug("keyboard overrun", dropped=dropped, overruns=self.overruns)
        if taken:
            self._line.raise_()
        return taken

    def read(self, n: int | None = None) -> bytes:
        """Drain up to ``n`` bytes (all with None) from the buffer, oldest first.

        The driver calls this from its interrupt handler; an empty buffer gives ``b""``.
        """
        count = len(self._buffer) if n is None else max(0, min(n, len(self._buffer)))
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data


class Screen:
    """The display: takes raw output bytes, keeps them, and reports size changes.

    Attributes:
        resized: set by :meth:`resize`, cleared by :meth:`take_resize` (the driver's
            "window size changed" status bit).
    """

    def __init__(self, rows: int = DEFAULT_ROWS, cols: int = DEFAULT_COLS) -> None:
        """Make a blank screen of ``rows`` x ``cols`` characters."""
        _check_size(rows, cols)
        self._size = (rows, cols)
        self._output = bytearray()
        self._listeners: list[ScreenListener] = []
        self._line = _Line(RESIZE_IRQ)
        self.resized = False

    @property
    def size(self) -> tuple[int, int]:
        """The window size as ``(rows, cols)``."""
        return self._size

    @property
    def output(self) -> bytes:
        """Every byte written to the screen since power-on."""
        return bytes(self._output)

    @property
    def driver(self) -> Proc | None:
        """The process told about resizes, if one is attached."""
        return self._line.proc

    def attach(self, pic: InterruptController, proc: Proc, irq: int = RESIZE_IRQ) -> None:
        """Wire the resize interrupt to driver ``proc``; raised at once if a resize is pending."""
        self._line.attach(pic, proc, irq)
        if self.resized:
            self._line.raise_()

    def detach(self) -> None:
        """Disconnect the resize interrupt (the flag still records a resize)."""
        self._line.detach()

    def listen(self, listener: ScreenListener) -> Callable[[], None]:
        """Call ``listener(data)`` on every later write; returns a function that stops it."""
        self._listeners.append(listener)

        def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return stop

    def write(self, data: bytes) -> int:
        """The driver outputs ``data``; returns its length (a screen never refuses bytes)."""
        if data:
            chunk = bytes(data)
            self._output += chunk
            for listener in tuple(self._listeners):
                listener(chunk)
        return len(data)

    def resize(self, rows: int, cols: int) -> None:
        """The user resizes the window: record it, set :attr:`resized`, raise the IRQ."""
        _check_size(rows, cols)
        self._size = (rows, cols)
        self.resized = True
        self._line.raise_()

    def take_resize(self) -> tuple[int, int] | None:
        """Read and clear the resized flag: the new size, or None if nothing changed."""
        if not self.resized:
            return None
        self.resized = False
        return self._size


class Console:
    """The console device: one :class:`Keyboard` and one :class:`Screen`."""

    def __init__(
        self, rows: int = DEFAULT_ROWS, cols: int = DEFAULT_COLS, capacity: int = KEYBOARD_BUFFER
    ) -> None:
        """Power on a console with a ``rows`` x ``cols`` screen and a ``capacity`` buffer."""
        self.keyboard = Keyboard(capacity)
        self.screen = Screen(rows, cols)

    def attach(self, pic: InterruptController, proc: Proc) -> None:
        """Make ``proc`` the driver of both halves (:data:`KEYBOARD_IRQ`, :data:`RESIZE_IRQ`)."""
        self.keyboard.attach(pic, proc)
        self.screen.attach(pic, proc)

    def detach(self) -> None:
        """Disconnect both interrupts."""
        self.keyboard.detach()
        self.screen.detach()


def _check_size(rows: int, cols: int) -> None:
    if rows <= 0 or cols <= 0:
        raise ValueError(f"screen size must be positive, not {rows}x{cols}")
