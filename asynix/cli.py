"""The ``asynix`` command line.

- ``asynix`` boots the system, starts ``/sbin/getty /dev/console`` (a session on the
  console running ``/bin/sh -i``) and attaches the console to the real terminal
  (:func:`attach`); it exits with the shell's status when the shell exits.
- ``asynix -c LINE`` boots, runs ``/bin/sh -c LINE`` (``System.sh``), writes the
  command's output (standard output and error, as written) to the real standard output
  and exits with the command's status.
- ``asynix trace -o FILE [-c LINE]`` does the same with the kernel's tracer on and
  writes the run's Chrome trace-event/Perfetto JSON to FILE at shutdown.
- ``asynix bench [NAME...] [--json]`` runs the benchmarks (:mod:`asynix.bench`).

A status from a signal (``System.wait`` reports minus its number) becomes 128 + the
signal's number, as shells report it. Everything runs on real time (trio's default
clock); the kernel clock follows it.

The CLI is the only place that configures logging: the simulation's warnings and errors
go to ``--log FILE``, by default to standard error with ``-c`` and to
:func:`default_log_path` in interactive mode, never to the terminal the shell draws on.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import termios
import tty
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
import trio

from asynix import bench
from asynix.boot import boot
from kernel.hw import FRAME_SIZE
from kernel.hw.console import DEFAULT_COLS, DEFAULT_ROWS
from userland import getty

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from asynix.boot import System
    from asynix.terminal import FakeTerminal

_SIGNAL_BASE = 128
"""A shell reports death by signal N as status 128 + N."""

_SUFFIXES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}
"""``--memory`` takes bytes, or kibibytes, mebibytes, gibibytes with a suffix."""

_MIN_WORKERS = 2
"""VFS keeps one of its workers as the spare (``vfs.main``)."""

_KEYBOARD_RETRY = 0.01
"""Seconds to wait before typing the rest of a paste the keyboard buffer could not take."""


def _configure_logging(file: TextIO) -> None:
    """Send the simulation's warnings and errors to ``file``, uncoloured."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file),
    )


def default_log_path() -> Path:
    """The interactive mode's log file: ``$XDG_STATE_HOME/asynix/asynix.log``.

    ``XDG_STATE_HOME`` defaults to ``~/.local/state``.
    """
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "asynix" / "asynix.log"


def shell_status(code: int) -> int:
    """A ``System.wait`` code as a shell's exit status (death by signal N: 128 + N)."""
    return _SIGNAL_BASE - code if code < 0 else code


def _bench(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="asynix bench", description="Measure asynix's speed.")
    parser.add_argument(
        "names", nargs="*", help="figures to run (default: all); a prefix selects a group"
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON lines (name, value, unit, ratio)"
    )
    args = parser.parse_args(argv)
    _configure_logging(sys.stderr)
    return bench.main(args.names, args.json)


def _memory_size(text: str) -> int:
    """``--memory``'s value: ``N``, ``NK``, ``NM`` or ``NG``, a positive multiple of a frame."""
    unit = text[-1:].upper() if text[-1:].isalpha() else ""
    number = text[: len(text) - len(unit)]
    if unit not in _SUFFIXES or not number.isdigit():
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (bytes, or with K, M or G)")
    size = int(number) * _SUFFIXES[unit]
    if size <= 0 or size % FRAME_SIZE:
        raise argparse.ArgumentTypeError(f"{text}: not a positive multiple of {FRAME_SIZE}")
    return size


def _workers(text: str) -> int:
    """``--workers``' value: an integer, at least :data:`_MIN_WORKERS`."""
    if not text.isdigit() or int(text) < _MIN_WORKERS:
        raise argparse.ArgumentTypeError(f"{text}: VFS needs at least {_MIN_WORKERS} workers")
    return int(text)


def _add_boot_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", dest="command", metavar="LINE", help="run one shell command line and exit"
    )
    parser.add_argument(
        "--memory",
        type=_memory_size,
        default=64 * 2**20,
        help="physical memory: bytes, or with a K, M or G suffix (default: 64M)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the scheduling policy")
    parser.add_argument("--policy", choices=["fifo", "random", "pct"], default="fifo")
    parser.add_argument("--workers", type=_workers, default=9, help="VFS worker tasks (>= 2)")
    parser.add_argument("--disk", metavar="IMAGE", help="disk image file (not supported yet)")
    parser.add_argument(
        "--log",
        metavar="FILE",
        help="log file (default: standard error with -c, "
        "$XDG_STATE_HOME/asynix/asynix.log without)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asynix",
        description="A MINIX-3-style microkernel OS simulated in Python. Without -c, run "
        "the shell on this terminal.",
        epilog="subcommands: asynix bench [NAME...] [--json]; "
        "asynix trace -o FILE [-c LINE] [options]",
    )
    _add_boot_options(parser)
    return parser


def _trace_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asynix trace",
        description="Run like asynix, and write the run's Chrome trace-event JSON "
        "(open it in the Perfetto UI) to FILE when the system shuts down.",
    )
    parser.add_argument("-o", dest="trace", metavar="FILE", required=True, help="trace file")
    _add_boot_options(parser)
    return parser


def _boot_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "memory": args.memory,
        "seed": args.seed,
        "policy": args.policy,
        "workers": args.workers,
        "trace": getattr(args, "trace", None),
    }


async def _run_line(line: str, options: dict[str, Any]) -> tuple[int, str]:
    async with boot(**options) as system:
        return await system.sh(line)


def _command(args: argparse.Namespace) -> int:
    code, output = trio.run(_run_line, args.command, _boot_options(args))
    sys.stdout.write(output)
    sys.stdout.flush()
    return shell_status(code)


def _interactive(args: argparse.Namespace) -> int:
    return shell_status(attach(_boot_options(args), sys.stdin.fileno(), sys.stdout.fileno()))


def attach(options: dict[str, Any], fd_in: int, fd_out: int) -> int:
    """Boot, run getty's shell on the console with the real terminal attached to it.

    The terminal at ``fd_in`` is put in raw mode (no echo, no line editing, no signals
    from keys: ^C is the byte 0x03 for the simulated TTY to handle) and its settings are
    restored on every way out: the shell's exit, an exception, SIGTERM, SIGHUP or
    SIGINT (which only ``kill`` sends: the terminal's ^C goes to the simulation). The
    process is ``/sbin/getty /dev/console`` started with ``System.spawn`` (so its pid is
    known to wait for), which execs ``/bin/sh -i`` in a session on the console.

    Returns:
        The shell's ``System.wait`` code, or minus the signal that ended the session
        (the real terminal going away counts as SIGHUP).
    """
    saved = termios.tcgetattr(fd_in)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        # Outside trio's own handlers (before and after the run), stop cleanly too.
        for sig in previous:
            signal.signal(sig, _raise_stop)
        tty.setraw(fd_in, termios.TCSADRAIN)
        return trio.run(_session, options, fd_in, fd_out)
    except _Stopped as stop:
        return -stop.signum
    finally:
        termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Stopped(Exception):
    """SIGTERM or SIGHUP arrived while trio was not running."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


async def _session(options: dict[str, Any], fd_in: int, fd_out: int) -> int:
    async with boot(**options) as system:
        term = system.console
        term.close()  # the real terminal renders the screen and answers its queries
        screen = term.console.screen
        _write(fd_out, screen.output)
        stop_echo = screen.listen(lambda data: _write(fd_out, data))
        try:
            term.resize(*_window_size(fd_out))
            pid = await system.spawn(getty.main, ["getty", "/dev/console"])
            return await _serve(system, pid, fd_in, fd_out)
        finally:
            stop_echo()


async def _serve(system: System, pid: int, fd_in: int, fd_out: int) -> int:
    """Forward keys and window sizes until the shell ``pid`` exits or a signal stops us."""
    result = -signal.SIGHUP
    async with trio.open_nursery() as nursery:

        def finish(code: int) -> None:
            nonlocal result
            result = code
            nursery.cancel_scope.cancel()

        async def shell() -> None:
            finish(await system.wait(pid))

        nursery.start_soon(shell)
        nursery.start_soon(_forward_keys, fd_in, system.console, finish)
        nursery.start_soon(_forward_signals, fd_out, system.console, finish)
    return result


async def _forward_keys(fd: int, term: FakeTerminal, finish: Callable[[int], None]) -> None:
    """Type what the real keyboard sends; the terminal going away is a hangup."""
    while True:
        await trio.lowlevel.wait_readable(fd)
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            finish(-signal.SIGHUP)
            return
        while data:
            data = data[term.send(data) :]
            if data:  # the keyboard buffer is full (a large paste): let the TTY drain it
                await trio.sleep(_KEYBOARD_RETRY)


async def _forward_signals(fd: int, term: FakeTerminal, finish: Callable[[int], None]) -> None:
    """SIGWINCH resizes the console; SIGTERM, SIGHUP and SIGINT end the session."""
    stops = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    with trio.open_signal_receiver(signal.SIGWINCH, *stops) as signals:
        async for sig in signals:
            if sig == signal.SIGWINCH:
                term.resize(*_window_size(fd))
            else:
                finish(-sig)
                return


def _window_size(fd: int) -> tuple[int, int]:
    """The real terminal's ``(rows, cols)``; a VT100's 24x80 when it does not say."""
    try:
        cols, rows = os.get_terminal_size(fd)
    except OSError:
        cols = rows = 0
    return (rows or DEFAULT_ROWS, cols or DEFAULT_COLS)


def _write(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the real terminal; a terminal that is gone takes nothing."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        pass


def _start(args: argparse.Namespace) -> int:
    if args.disk is not None:
        print(
            "asynix: --disk: disk images are not supported yet (the boot image has no disk driver)",
            file=sys.stderr,
        )
        return 2
    run = _command if args.command is not None else _interactive
    if run is _interactive and not (
        os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())
    ):
        print(
            "asynix: standard input and output must be a terminal (or use -c LINE)",
            file=sys.stderr,
        )
        return 2
    path = Path(args.log) if args.log else None
    if path is None and run is _interactive:
        path = default_log_path()  # never the terminal the shell draws on
    if path is None:
        _configure_logging(sys.stderr)
        return run(args)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = path.open("a", encoding="utf-8")
    except OSError as exc:
        print(f"asynix: cannot open the log file {path}: {exc.strerror}", file=sys.stderr)
        return 1
    with log:
        _configure_logging(log)
        return run(args)


def main(argv: list[str] | None = None) -> int:
    """Run the ``asynix`` command; returns the process exit status."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] == "bench":
        return _bench(args_in[1:])
    if args_in and args_in[0] == "trace":
        return _start(_trace_parser().parse_args(args_in[1:]))
    return _start(_parser().parse_args(args_in))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
