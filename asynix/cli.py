"""The ``asynix`` command line.

``asynix`` boots the system and runs the shell on the real terminal; ``asynix -c LINE``
runs one command line; ``asynix bench``, ``asynix fuzz`` and ``asynix trace`` are
subcommands. The CLI is the only place that configures logging.
"""

from __future__ import annotations

import argparse
import logging
import sys

import structlog

from asynix import bench


def _quiet_logging() -> None:
    """Only warnings and errors from the simulation reach the terminal."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def _bench(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="asynix bench", description="Measure asynix's speed.")
    parser.add_argument(
        "names", nargs="*", help="figures to run (default: all); a prefix selects a group"
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON lines (name, value, unit, ratio)"
    )
    args = parser.parse_args(argv)
    _quiet_logging()
    return bench.main(args.names, args.json)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asynix",
        description="A MINIX-3-style microkernel OS simulated in Python.",
        epilog="subcommands: asynix bench [NAME...] [--json]",
    )
    parser.add_argument(
        "-c", dest="command", metavar="LINE", help="run one shell command line and exit"
    )
    parser.add_argument("--memory", type=int, default=64 * 2**20, help="physical memory in bytes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the scheduling policy")
    parser.add_argument("--policy", choices=["fifo", "random", "pct"], default="fifo")
    parser.add_argument("--workers", type=int, default=9, help="VFS worker tasks")
    parser.add_argument("--disk", help="disk image file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``asynix`` command; returns the process exit status."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] == "bench":
        return _bench(args_in[1:])
    _parser().parse_args(args_in)
    print("asynix: the shell does not exist yet; try 'asynix bench'", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
