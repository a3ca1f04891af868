"""The translation lookaside buffer of the simulated x86 (Intel SDM vol. 3A, 4.10).

The MMU (:mod:`kernel.hw.mmu`) owns one :class:`TLB`. An entry is created only from a
successful page walk and holds what the SDM says a TLB entry holds: the frame, the rights
ANDed over the entries used (U/S, R/W), the leaf's dirty flag, and whether it is global.
Memory-type bits (PWT, PCD, PAT) are not kept because the simulated machine has no caches
for them to steer.

Nothing here looks at page tables: after software edits an entry in memory the TLB keeps
answering from its copy until it is invalidated (INVLPG, a CR3 or CR4 write, a page fault on
that address), exactly the staleness the SDM allows (4.10.4.2) and MINIX relies on being
cured by the CR3 reload of every address-space switch. It has a capacity, like a real one;
when it is full it is emptied, global entries included, which the SDM allows at any time
("entries may be evicted at any time") and which keeps every operation amortised O(1).

The layout is built for the MMU's hot paths. An entry is one int, packed like a paging
entry (see :meth:`TLB.fill`), so filling allocates nothing. Besides the entries, one
dictionary per access kind maps a page number straight to the frame base for the pages that
kind of access may use *without a walk*, so a hit is one lookup and an OR. "Without a walk"
excludes writes to a clean page, because the walk is what sets the dirty bit.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ACCESS_SUP_READ",
    "ACCESS_SUP_WRITE",
    "ACCESS_USER_READ",
    "ACCESS_USER_WRITE",
    "TLB",
    "TLBEntry",
]

#: Index of an access kind: ``(write << 1) | user``. Fetches are reads (no NX here).
ACCESS_SUP_READ = 0
ACCESS_USER_READ = 1
ACCESS_SUP_WRITE = 2
ACCESS_USER_WRITE = 3

# Bits of a packed entry: the paging-entry bit positions, for the same meaning.
_RW = 1 << 1
_US = 1 << 2
_D = 1 << 6
_LARGE = 1 << 7  # PS: a fragment of a 4 MiB page
_GLOBAL = 1 << 8  # G, kept only when the entry is global (CR4.PGE=1 at fill time)
_FRAME = 0xFFFFF000
# Bits a cached entry needs for each access index to be used without a walk, without and
# with CR0.WP (SDM 4.6; writes also need D, because setting it is the walk's job).
_NEED = (
    (0, _US, _D, _US | _RW | _D),
    (0, _US, _RW | _D, _US | _RW | _D),
)


class TLBEntry(NamedTuple):
    """One cached translation of a 4 KiB page, decoded for inspection.

    A 4 MiB page is cached as 4 KiB fragments, one per page touched (SDM 4.10.2.3 allows
    this); ``large`` marks them so that invalidating any address of the 4 MiB page drops
    every fragment, as INVLPG must.
    """

    frame: int  #: physical address of the 4 KiB frame the page maps to
    user: bool  #: U/S ANDed over the entries used: user accesses allowed
    writable: bool  #: R/W ANDed over the entries used
    dirty: bool  #: the leaf's D flag was set (or the walk that filled it set it)
    glob: bool  #: global: survives CR3 writes
    large: bool  #: a fragment of a 4 MiB page

    @classmethod
    def unpack(cls, packed: int) -> TLBEntry:
        """Decode a packed entry (the layout of :meth:`TLB.fill`)."""
        return cls(
            packed & _FRAME,
            bool(packed & _US),
            bool(packed & _RW),
            bool(packed & _D),
            bool(packed & _GLOBAL),
            bool(packed & _LARGE),
        )


class TLB:
    """One TLB for all address spaces, untagged, as on a pre-PCID x86.

    Args:
        wp: the current CR0.WP; it decides whether supervisor writes may use a read-only
            entry, and the MMU calls :meth:`set_wp` when it changes.
        capacity: entries held before the TLB empties itself.

    Attributes:
        entries: page number to packed entry; the authoritative contents.
        by_access: for each access index (``(write << 1) | user``) a dictionary from page
            number to frame base, holding entries that access may use without a walk. It
            is a cache of decisions derived from ``entries``, filled lazily: an entry
            appears in the table of the access that created it, and in another access's
            table the first time that access finds the entry good enough
            (:meth:`lookup`). The dictionaries are never rebound, so the MMU may keep
            references to them.
        large: 4 MiB region number (page number >> 10) to the page numbers of the
            fragments cached from a 4 MiB page there; empty when none are (never rebound).
    """

    __slots__ = ("_capacity", "_need", "_nglobal", "by_access", "entries", "large")

    def __init__(self, wp: bool = False, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError(f"TLB capacity must be positive, not {capacity}")
        self.entries: dict[int, int] = {}
        self.by_access: tuple[dict[int, int], dict[int, int], dict[int, int], dict[int, int]] = (
            {},
            {},
            {},
            {},
        )
        self.large: dict[int, set[int]] = {}
        self._nglobal = 0
        self._need = _NEED[wp]
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def capacity(self) -> int:
        """Entries held before the TLB empties itself."""
        return self._capacity

    def __contains__(self, vpn: object) -> bool:
        return vpn in self.entries

    def get(self, vpn: int) -> TLBEntry | None:
        """Return the entry cached for page number ``vpn``, decoded, if any."""
        packed = self.entries.get(vpn)
        return None if packed is None else TLBEntry.unpack(packed)

    def lookup(self, vpn: int, access: int) -> int | None:
        """Return the frame for ``access`` to page ``vpn`` if the cached entry allows it.

        None means the access needs a walk: nothing is cached, the cached rights do not
        allow the access, or it is a write and the entry is clean (the walk sets D).

        Args:
            vpn: the page number.
            access: the access index, ``(write << 1) | user``.
        """
        packed = self.entries.get(vpn)
        if packed is None:
            return None
        need = self._need[access]
        if packed & need != need:
            return None
        frame = packed & _FRAME
        self.by_access[access][vpn] = frame
        return frame

    def fill(self, vpn: int, packed: int, access: int) -> None:
        """Cache the translation a walk for ``access`` made of page ``vpn``.

        Args:
            vpn: the page number (linear address >> 12).
            packed: the frame address in bits 31:12 ORed with ``PG_US`` and ``PG_RW``
                (the ANDed rights), ``PG_D`` (the leaf is dirty), ``PG_PS`` (a fragment of
                a 4 MiB page) and ``PG_G`` (the entry is global); other bits must be 0.
            access: the access index of the walk, ``(write << 1) | user``; the walk
                allowed it, so the access may use the entry from now on.
        """
        entries = self.entries
        if vpn in entries:
            self._drop(vpn)
        elif len(entries) >= self._capacity:
            self.flush_all()
        entries[vpn] = packed
        self.by_access[access][vpn] = packed & _FRAME
        if packed & (_GLOBAL | _LARGE):
            if packed & _GLOBAL:
                self._nglobal += 1
            if packed & _LARGE:
                self.large.setdefault(vpn >> 10, set()).add(vpn)

    def _drop(self, vpn: int) -> None:
        packed = self.entries.pop(vpn, None)
        if packed is None:
            return
        for table in self.by_access:
            table.pop(vpn, None)
        if packed & _GLOBAL:
            self._nglobal -= 1
        if packed & _LARGE:
            fragments = self.large.get(vpn >> 10)
            if fragments is not None:
                fragments.discard(vpn)
                if not fragments:
                    del self.large[vpn >> 10]

    def invalidate_page(self, vpn: int) -> None:
        """Drop the translation of page ``vpn``, global or not (INVLPG, #PF).

        When the page lies in a 4 MiB page, every cached fragment of that 4 MiB page goes
        too (SDM 4.10.4.1: INVLPG invalidates all TLB entries for the page).
        """
        self._drop(vpn)
        fragments = self.large.get(vpn >> 10)
        if fragments:
            for other in list(fragments):
                self._drop(other)

    def flush_nonglobal(self) -> None:
        """Drop every entry that is not global (a CR3 write)."""
        if not self._nglobal:
            self.flush_all()
            return
        kept = {vpn: e for vpn, e in self.entries.items() if e & _GLOBAL}
        self.flush_all()
        self.entries.update(kept)
        self._nglobal = len(kept)
        for vpn, e in kept.items():
            if e & _LARGE:
                self.large.setdefault(vpn >> 10, set()).add(vpn)

    def flush_all(self) -> None:
        """Drop every entry, global ones included."""
        self.entries.clear()
        for table in self.by_access:
            table.clear()
        self.large.clear()
        self._nglobal = 0

    def set_wp(self, wp: bool) -> None:
        """Apply a new CR0.WP to the cached rights.

        The SDM does not list a WP change as invalidating; WP is applied at access time
        against the cached R/W, so stale entries stay stale and only the supervisor-write
        decisions are forgotten (they are remade from the entries on next use).
        """
        need = _NEED[wp]
        if need is not self._need:
            self._need = need
            self.by_access[ACCESS_SUP_WRITE].clear()
