"""The tutorial in docs/drivers.md runs: its code blocks make one module, its tests pass."""

from __future__ import annotations

import re
from pathlib import Path

import trio
from trio.testing import MockClock

DOC = Path(__file__).resolve().parents[2] / "docs" / "drivers.md"


def _tutorial_namespace():
    text = DOC.read_text()
    section = text.split("## Tutorial", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 3
    ns = {"__name__": "drivers_tutorial"}
    exec(compile("\n".join(blocks), str(DOC), "exec"), ns)
    return ns


def test_tutorial_code_runs():
    ns = _tutorial_namespace()
    tests = sorted(name for name in ns if name.startswith("test_"))
    assert tests == [
        "test_mailbox_crash_and_restart",
        "test_mailbox_delivers",
        "test_mailbox_read_is_cancelled",
    ]
    for name in tests:
        trio.run(ns[name], None, clock=MockClock(autojump_threshold=0))
