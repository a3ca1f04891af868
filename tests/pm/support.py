"""Helpers for PM and libc tests: boot, run programs, check that no server hit a bug.

``ASYNIX_TEST_POLICY`` and ``ASYNIX_TEST_SEED`` in the environment make :func:`booted`
use another scheduling policy and seed by default, to explore other interleavings
(tests that assert FIFO's order of events then fail by design).
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Any

import asynix

_POLICY = os.environ.get("ASYNIX_TEST_POLICY")
_SEED = int(os.environ.get("ASYNIX_TEST_SEED", "0"))


@asynccontextmanager
async def booted(**kwargs: Any):
    """Boot asynix; on leaving, assert that neither PM nor VM recorded a bug."""
    if _POLICY:
        kwargs.setdefault("policy", _POLICY)
        kwargs.setdefault("seed", _SEED)
    async with asynix.boot(**kwargs) as system:
        yield system
        assert system.bugs == []


async def run(main, argv=None, *, uid=0, **kwargs: Any) -> int:
    """Boot, run ``main(argv)`` as a child of init, return its subprocess-style code."""
    async with booted(**kwargs) as system:
        pid = await system.spawn(main, argv, uid=uid)
        return await system.wait(pid)


BASE = 7
"""Processes PM's table holds on an idle booted system: vm, pm, vfs, ramfs, ds, rs, init."""


async def errno_of(awaitable, *, ok: Any = 0) -> Any:
    """The errno ``awaitable`` fails with (an OSError), or ``ok`` when it succeeds."""
    try:
        await awaitable
    except OSError as exc:
        return exc.errno
    return ok
