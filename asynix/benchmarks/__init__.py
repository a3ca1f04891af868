"""Benchmarks registered with :mod:`asynix.bench`, one module per layer.

The benchmarks that time a user program on a booted system share :func:`run_program`:
it boots, runs the program as a child of init with the simulation's logging quieted
to warnings (:func:`quiet`, so that the figures measure the system rather than the
console), and returns its exit code; the program itself records the time it measured.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING

import structlog

import asynix

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator


@contextmanager
def quiet() -> Iterator[None]:
    """Drop log events below WARNING for the duration (benchmarks only)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**saved)


async def run_program(prog: Callable[[list[str]], Awaitable[int]]) -> int:
    """Boot asynix, run ``prog`` to its end, and return its exit code (quietly)."""
    with quiet():
        async with asynix.boot() as system:
            return await system.wait(await system.spawn(prog))
