"""PM's host mailbox: how code outside the simulation asks PM for something.

``asynix.System`` (the host) lives outside the simulation; it must not call into
simulated processes, and its requests must pass through the kernel's choice points
like everything else. So the host talks to PM the way a device talks to its driver:

1. the host appends a :class:`HostRequest` to the :class:`HostMailbox` (a plain deque
   shared with PM at boot, PM's "device registers");
2. it raises interrupt :data:`~servers.pm.protocol.HOST_IRQ` for PM with
   ``kernel.interrupt(HOST_IRQ, pm_proc)``: a notification from HARDWARE;
3. PM, when the kernel next runs it, drains the mailbox and answers each request by
   filling in ``result`` (or ``error``) and setting its ``done`` event.

The ``done`` event is a host-side anyio primitive: PM only ever *sets* it (which never
blocks and is not a choice point); nothing inside the simulation waits on it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from servers.host import HostRequest

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["HostMailbox", "HostRequest", "MeminfoRequest", "SpawnRequest", "WaitRequest"]


@dataclass(eq=False)
class SpawnRequest(HostRequest):
    """Start ``main(argv)`` as a new child of init owned by ``uid``; result: its pid."""

    main: Callable[[list[str]], Awaitable[int]] = field(kw_only=True)
    argv: list[str] = field(kw_only=True)
    uid: int = field(default=0, kw_only=True)


@dataclass(eq=False)
class WaitRequest(HostRequest):
    """Result: how ``pid`` ended, as ``subprocess`` says it (status, or -signal)."""

    pid: int = field(kw_only=True)


@dataclass(eq=False)
class MeminfoRequest(HostRequest):
    """Result: VM's frame accounting as a dict."""


@dataclass(eq=False)
class HostMailbox:
    """The queue of host requests, and what PM tells the host without being asked.

    Attributes:
        requests: requests not yet taken by PM, oldest first.
        waiting: requests PM has taken and answers later (a wait for a live pid).
        init_running: set once init first waits in PM for its children (or PM failed).
        failed: PM's crash, if it crashed (the host should give up then).
    """

    requests: deque[HostRequest] = field(default_factory=deque)
    waiting: list[HostRequest] = field(default_factory=list)
    init_running: anyio.Event = field(default_factory=anyio.Event)
    failed: BaseException | None = None

    def fail_all(self, exc: BaseException) -> None:
        """PM is gone: answer everything still queued with ``exc``."""
        self.failed = exc
        self.init_running.set()  # wake a boot waiting for init: it checks ``failed``
        while self.requests:
            self.requests.popleft().answer(error=exc)
        waiting, self.waiting = self.waiting, []
        for req in waiting:
            req.answer(error=exc)
