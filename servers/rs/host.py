"""RS's host mailbox: how code outside the simulation asks RS for something.

The same device-style path PM's mailbox uses (:mod:`servers.pm.host`): the host
appends a request to the :class:`RsHostMailbox` boot shares with RS and raises
:data:`RS_HOST_IRQ` for RS (a notification from HARDWARE); RS, when the kernel next
runs it, drains the mailbox and answers each request by setting its ``done`` event.
RS only ever sets host-side events (never a choice point); nothing inside the
simulation waits on them. ``asynix.System.kill_service`` is built on this.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

import anyio

from servers.host import HostRequest

RS_HOST_IRQ: Final = 1
"""The interrupt the host raises for RS when its mailbox holds requests."""


@dataclass(eq=False)
class KillServiceRequest(HostRequest):
    """Crash the running instance of ``label`` as a fault would (SIGSEGV).

    Result: the endpoint that was killed. Error: OSError(ESRCH) if ``label`` is not
    a service RS runs.
    """

    label: str = field(kw_only=True)


@dataclass(eq=False)
class RsHostMailbox:
    """The queue of host requests, and what RS tells the host unasked.

    Attributes:
        requests: requests not yet taken by RS, oldest first.
        services_up: set once every service RS starts at boot has finished its
            initialisation (successfully or not), or RS failed.
        failed: RS's crash, if it crashed.
    """

    requests: deque[HostRequest] = field(default_factory=deque)
    services_up: anyio.Event = field(default_factory=anyio.Event)
    failed: BaseException | None = None

    def fail_all(self, exc: BaseException) -> None:
        """RS is gone: answer everything still queued with ``exc``."""
        self.failed = exc
        self.services_up.set()
        while self.requests:
            self.requests.popleft().answer(error=exc)
