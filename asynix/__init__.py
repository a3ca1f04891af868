"""asynix: the front door (boot image, fake terminal, CLI, fuzzer, tracing, benchmarks).

``async with asynix.boot() as system:`` boots a simulated machine running the boot
image (:mod:`asynix.bootimage`) and yields a :class:`System`: ``await
system.spawn(main, argv)`` starts a user program as a child of init, ``await
system.wait(pid)`` waits for it like ``subprocess``, ``await system.meminfo()`` reports
memory. See ``docs/processes.md``. :class:`FakeTerminal` is a VT100 on the console
hardware (``docs/terminal.md``).
"""

from __future__ import annotations

from asynix.boot import System, boot
from asynix.terminal import FakeTerminal

__all__ = ["FakeTerminal", "System", "boot"]
