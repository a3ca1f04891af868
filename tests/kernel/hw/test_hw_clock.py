"""The kernel's clock is the event loop's clock: virtual under MockClock."""

from __future__ import annotations

import pytest
import trio

from kernel.hw import now


async def test_now_follows_virtual_time(autojump_clock):
    t0 = now()
    assert t0 == trio.current_time()
    await trio.sleep(5)
    assert now() - t0 == 5.0
    await trio.sleep(0.25)
    assert now() - t0 == 5.25


def test_now_needs_a_running_loop():
    with pytest.raises(RuntimeError):
        now()
