"""A request from the host (code outside the simulation) to a server's host mailbox.

PM's and RS's mailboxes (:mod:`servers.pm.host`, :mod:`servers.rs.host`) carry these:
the host appends one and raises the server's host interrupt; the server answers it
by setting ``done``, a host-side anyio event that nothing inside the simulation waits
on (setting it never blocks and is not a choice point).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio


@dataclass(eq=False)
class HostRequest:
    """One request from the host; the server sets ``done`` when it has answered."""

    done: anyio.Event = field(default_factory=anyio.Event, init=False)
    result: object = field(default=None, init=False)
    error: BaseException | None = field(default=None, init=False)

    def answer(self, result: object = None, error: BaseException | None = None) -> None:
        """Record the outcome and wake the host (never blocks)."""
        self.result = result
        self.error = error
        self.done.set()
