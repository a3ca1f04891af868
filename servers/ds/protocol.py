"""The data store's wire protocol: labels to endpoints, small values, saved state.

DS (endpoint ``DS_PROC_NR``) keeps a table of *keys*. A key holds one of:

- an endpoint (``DsPublishLabel``: a service's label, e.g. ``"hello"`` -> its endpoint);
- a 32-bit value (``DsPublishU32``: e.g. ``"drv.chr.hello"`` = :data:`DS_DRIVER_UP`);
- a blob of bytes (``DsPublishMem``: a service's state saved for its restarted self;
  the bytes cross by grant, never in the message).

Only system processes may publish (EPERM otherwise). A key belongs to the label of the
process that first published it; another process may not overwrite it (EPERM), and the
owner may overwrite only with :data:`DSF_OVERWRITE` (else EEXIST).

Subscriptions: ``DsSubscribe(regex)`` registers the caller for every key whose name
matches ``regex`` (Python :func:`re.fullmatch`). When such a key is published or
changed, DS sends the subscriber a ``notify``; the subscriber then calls ``DsCheck``
repeatedly, each call returning one changed key (``ENOENT`` when none is left).
With :data:`DSF_INITIAL`, keys that already match count as changed at once.

Every request is answered with :class:`DsReply` (``status`` 0 or an errno).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kernel.message import Message

DS_DRIVER_UP: Final = 1
"""The value a driver publishes under ``drv.chr.<label>`` when it is up."""

DSF_OVERWRITE: Final = 0x01
"""Publish over an existing key of one's own."""
DSF_INITIAL: Final = 0x02
"""Subscribe: report the keys that match already."""

DSF_TYPE_LABEL: Final = 0x10
DSF_TYPE_U32: Final = 0x20
DSF_TYPE_MEM: Final = 0x40

DS_MAX_KEYLEN: Final = 80
"""Longest key name (MINIX's value): longer is EINVAL."""
DS_MAX_MEM: Final = 64 * 1024
"""Largest blob DS keeps: larger is E2BIG."""


@dataclass(slots=True)
class DsReply(Message):
    """DS's answer: status, and for retrievals the value (an endpoint, a u32, a length).

    ``key`` and ``flags`` (the DSF_TYPE_* of the key) are filled by ``DsCheck``.
    """

    status: int = 0
    value: int = 0
    key: str = ""
    flags: int = 0


@dataclass(slots=True)
class DsPublishLabel(Message):
    """Publish ``key`` -> ``endpoint`` (a service's label)."""

    key: str
    endpoint: int
    flags: int = 0


@dataclass(slots=True)
class DsPublishU32(Message):
    """Publish ``key`` = ``value``."""

    key: str
    value: int
    flags: int = 0


@dataclass(slots=True)
class DsPublishMem(Message):
    """Publish ``key`` = the ``length`` bytes the caller granted DS under ``grant``."""

    key: str
    grant: int
    length: int
    flags: int = 0


@dataclass(slots=True)
class DsRetrieveLabel(Message):
    """The endpoint published under ``key`` (ESRCH/ENOENT when none)."""

    key: str


@dataclass(slots=True)
class DsRetrieveLabelName(Message):
    """The label published for ``endpoint`` (reply ``key``; ENOENT when none)."""

    endpoint: int


@dataclass(slots=True)
class DsRetrieveU32(Message):
    """The value published under ``key``."""

    key: str


@dataclass(slots=True)
class DsRetrieveMem(Message):
    """Copy the blob under ``key`` into the caller's grant (at most ``length`` bytes).

    The reply's ``value`` is the blob's full length.
    """

    key: str
    grant: int
    length: int


@dataclass(slots=True)
class DsDelete(Message):
    """Remove ``key`` (only its owner, or RS)."""

    key: str


@dataclass(slots=True)
class DsSubscribe(Message):
    """Notify the caller of changes to keys matching ``regex``."""

    regex: str
    flags: int = 0


@dataclass(slots=True)
class DsCheck(Message):
    """One changed key the caller subscribed to: reply ``key``, ``flags``; ENOENT if none."""
