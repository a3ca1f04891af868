"""The reincarnation server's wire protocol: service control and the SEF init handshake.

**Service control** (from a user process through libc, or from the ``service``
command): ``RsUp``, ``RsDown``, ``RsRestart``, ``RsRefresh``, ``RsUpdate``, ``RsLookup``.
Only root may change services (EPERM). Each is answered with :class:`RsReply`.

**Starting a service (SEF).** RS spawns the service, then sends it :class:`RsInit` with
the init type; the service initialises (a restarted one retrieves the state it saved
in DS; a live-updated one receives the old instance's state handed over) and answers
with :class:`RsInitReply`. Only then does RS publish the service's label in DS and, for
a driver, tell VFS which major it serves (``VfsMapdriver`` in :mod:`vfs.protocol`).

**Heartbeats.** RS pings each running service with a ``notify`` every period; a
service answers with :class:`RsAlive` (the SEF library does this for drivers). A
service that misses two periods is considered hung and is restarted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kernel.message import Message

SEF_INIT_FRESH: Final = 0
"""First start."""
SEF_INIT_RESTART: Final = 1
"""Restart after a crash: the state saved in DS (if any) is the service's to take."""
SEF_INIT_LU: Final = 2
"""Live update: the old instance's state is handed over in ``RsInit.state_key``."""

STATE_KEY_PREFIX: Final = "rs.state."
"""DS keys ``rs.state.<label>`` hold the blob a service saves for its next instance."""


def state_key(label: str) -> str:
    """The DS key under which service ``label`` keeps the state its next instance takes.

    The service publishes it (``DsPublishMem`` with DSF_OVERWRITE, as often as its
    state changes); RS names it in ``RsInit.state_key`` on a restart or a live update
    and deletes it on a refresh.
    """
    return STATE_KEY_PREFIX + label


@dataclass(slots=True)
class RsReply(Message):
    """RS's answer: status, and a value (an endpoint for ``RsLookup``)."""

    status: int = 0
    value: int = 0


@dataclass(slots=True)
class RsUp(Message):
    """Start the service ``label`` from RS's service table."""

    label: str


@dataclass(slots=True)
class RsDown(Message):
    """Stop the service ``label`` for good (no restart)."""

    label: str


@dataclass(slots=True)
class RsRestart(Message):
    """Kill and restart the service ``label`` (a new endpoint)."""

    label: str


@dataclass(slots=True)
class RsRefresh(Message):
    """Restart ``label`` afresh (SEF_INIT_FRESH, its saved state discarded)."""

    label: str


@dataclass(slots=True)
class RsUpdate(Message):
    """Live-update ``label``: a new instance takes over the old one's state."""

    label: str


@dataclass(slots=True)
class RsLookup(Message):
    """The endpoint of the running service ``label`` (ESRCH when none)."""

    label: str


@dataclass(slots=True)
class RsInit(Message):
    """RS -> service: initialise as ``init_type``; ``state_key`` names a DS blob or ''."""

    init_type: int
    label: str
    state_key: str = ""


@dataclass(slots=True)
class RsInitReply(Message):
    """Service -> RS: initialisation done (``status`` 0) or failed (an errno)."""

    status: int = 0


@dataclass(slots=True)
class RsAlive(Message):
    """Service -> RS: the answer to a heartbeat ping."""
