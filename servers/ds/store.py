"""The data store's tables: keys and their values, owners, and subscriptions.

Pure data, no IPC: :mod:`servers.ds.main` receives the requests, authorises them,
moves blobs through grants, and sends the notifications this module asks for. Every
operation returns an errno (0 on success) rather than raising, so that nothing a
caller sends can make DS fail.

A key belongs to its *owner*, the label of the process that first published it (a
service's kernel name is its label, so a restarted instance owns what its previous
instance published). A subscription is a compiled regex per subscriber endpoint;
each subscriber has an ordered set of changed keys that ``DsCheck`` drains one at a
time (MINIX keeps a bitmap per subscription; the order here is publication order).
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field

from servers.ds.protocol import (
    DS_MAX_KEYLEN,
    DSF_INITIAL,
    DSF_OVERWRITE,
    DSF_TYPE_LABEL,
)

_TYPE_MASK = 0xF0


@dataclass(slots=True)
class Entry:
    """One key: its type (a DSF_TYPE_*), its value and its owner's label."""

    type: int
    owner: str
    value: int = 0
    data: bytes = b""


@dataclass(slots=True)
class Subscription:
    """What one subscriber watches, and the keys changed since it last checked."""

    patterns: list[re.Pattern[str]] = field(default_factory=list)
    changed: dict[str, None] = field(default_factory=dict)

    def matches(self, key: str) -> bool:
        """Whether ``key`` is one this subscriber watches."""
        return any(p.fullmatch(key) for p in self.patterns)


def valid_key(key: object) -> bool:
    """A key is a non-empty string of at most DS_MAX_KEYLEN characters."""
    return isinstance(key, str) and 0 < len(key) <= DS_MAX_KEYLEN


def valid_int(value: object) -> bool:
    """A message field meant to be an int really is one (not a bool, not None)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class DataStore:
    """The keys and subscriptions of DS."""

    entries: dict[str, Entry] = field(default_factory=dict)
    subs: dict[int, Subscription] = field(default_factory=dict)

    # -- keys ------------------------------------------------------------------------

    def publish(self, owner: str, key: str, entry: Entry, flags: int) -> tuple[int, list[int]]:
        """Store ``entry`` under ``key``; returns (errno, subscribers to notify).

        EPERM if someone else owns the key, EEXIST if it exists and ``flags`` lacks
        DSF_OVERWRITE, EINVAL if the key exists with another type.
        """
        old = self.entries.get(key)
        if old is not None:
            if old.owner != owner:
                return errno.EPERM, []
            if not flags & DSF_OVERWRITE:
                return errno.EEXIST, []
            if old.type != entry.type:
                return errno.EINVAL, []
        self.entries[key] = entry
        return 0, self._changed(key)

    def retrieve(self, key: str, type_: int) -> tuple[int, Entry | None]:
        """The entry under ``key`` if it has type ``type_``.

        ESRCH for a missing label (MINIX's answer), ENOENT for other missing keys,
        EINVAL for a key of another type.
        """
        entry = self.entries.get(key)
        if entry is None:
            return (errno.ESRCH if type_ == DSF_TYPE_LABEL else errno.ENOENT), None
        if entry.type != type_:
            return errno.EINVAL, None
        return 0, entry

    def label_of(self, endpoint: int) -> str | None:
        """The label published for ``endpoint``, if any."""
        for key, entry in self.entries.items():
            if entry.type == DSF_TYPE_LABEL and entry.value == endpoint:
                return key
        return None

    def delete(self, key: str, owner: str, *, privileged: bool) -> int:
        """Remove ``key``: its owner may, and RS (``privileged``) may. ENOENT, EPERM."""
        entry = self.entries.get(key)
        if entry is None:
            return errno.ENOENT
        if entry.owner != owner and not privileged:
            return errno.EPERM
        del self.entries[key]
        for sub in self.subs.values():
            sub.changed.pop(key, None)
        return 0

    # -- subscriptions ---------------------------------------------------------------

    def subscribe(self, subscriber: int, regex: str, flags: int) -> tuple[int, bool]:
        """Watch keys matching ``regex``; returns (errno, whether keys are pending now).

        EINVAL for a regex that does not compile or is longer than a key may be.
        With DSF_INITIAL the keys that match already count as changed.
        """
        if not isinstance(regex, str) or len(regex) > DS_MAX_KEYLEN:
            return errno.EINVAL, False
        try:
            pattern = re.compile(regex)
        except (re.error, RecursionError, OverflowError, ValueError):
            return errno.EINVAL, False
        sub = self.subs.setdefault(subscriber, Subscription())
        if all(p.pattern != regex for p in sub.patterns):
            sub.patterns.append(pattern)
        if flags & DSF_INITIAL:
            for key in self.entries:
                if pattern.fullmatch(key):
                    sub.changed[key] = None
        return 0, bool(sub.changed)

    def check(self, subscriber: int) -> tuple[int, str, int]:
        """One changed key for ``subscriber``: (errno, key, DSF_TYPE_*); ENOENT if none."""
        sub = self.subs.get(subscriber)
        while sub is not None and sub.changed:
            key = next(iter(sub.changed))
            del sub.changed[key]
            entry = self.entries.get(key)
            if entry is not None:
                return 0, key, entry.type & _TYPE_MASK
        return errno.ENOENT, "", 0

    def unsubscribe(self, subscriber: int) -> None:
        """Forget a subscriber (it has died)."""
        self.subs.pop(subscriber, None)

    def _changed(self, key: str) -> list[int]:
        notify = []
        for ep, sub in self.subs.items():
            if sub.matches(key):
                sub.changed[key] = None
                notify.append(ep)
        return notify
