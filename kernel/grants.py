"""Memory grants: how a process lets another reach part of its memory.

A process owns a grant table (MINIX keeps it in the granter's memory and the kernel
reads it; here the kernel keeps it for the process, which changes nothing a process
can observe). A grant is one of:

- direct: "``who_to`` may read/write my range ``[start, start+len)``";
- indirect: "``who_to`` may use the grant ``grant`` that ``who_from`` gave me", a
  re-grant whose rights and range are the original's;
- magic: "``who_to`` may use ``who_from``'s range" - a grant of another process's
  memory, honoured only for privileged granters (VFS).

Rights are CPF_READ (grantee may read granter memory) and CPF_WRITE (may write it);
CPF_TRY makes a copy that meets a missing page fail with EFAULT instead of asking VM,
and records the fault in the grant so that the granter can notice with
:meth:`GrantTable.revoke` (GRANT_FAULTED).

A grant id is ``seq << 20 | index``. Unlike MINIX's 11-bit sequence, asynix's ``seq``
never wraps: a revoked id is never valid again.

:func:`verify_grant` is MINIX's ``verify_grant`` (reference §2.2), literally.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from kernel.endpoint import ANY
from kernel.errors import KernelError

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Proc

CPF_READ: Final = 0x1
CPF_WRITE: Final = 0x2
CPF_TRY: Final = 0x10
CPF_USED: Final = 0x100
CPF_DIRECT: Final = 0x200
CPF_INDIRECT: Final = 0x400
CPF_MAGIC: Final = 0x800
CPF_VALID: Final = 0x1000

GRANT_INVALID: Final = -1
GRANT_FAULTED: Final = 1
""":meth:`GrantTable.revoke` result: a CPF_TRY copy faulted on this grant."""
MAX_INDIRECT_DEPTH: Final = 5
_INDEX_BITS: Final = 20
_INDEX_MASK: Final = (1 << _INDEX_BITS) - 1
_USER_FLAGS: Final = CPF_READ | CPF_WRITE | CPF_TRY
_MAX_ADDR: Final = 1 << 32


@dataclass(slots=True)
class Grant:
    """One grant-table slot (MINIX's ``cp_grant_t``)."""

    flags: int = 0
    seq: int = 0
    who_to: int = ANY
    who_from: int = ANY
    start: int = 0
    length: int = 0
    grant: int = GRANT_INVALID
    faulted: int = GRANT_INVALID
    buffer: bytearray | None = None


class GrantTable:
    """The grant table of one process."""

    __slots__ = ("_free", "entries", "max_entries")

    def __init__(self, max_entries: int = 4096) -> None:
        self.entries: list[Grant] = []
        self._free: list[int] = []
        self.max_entries = max_entries

    def _alloc(self) -> tuple[int, Grant]:
        if self._free:
            idx = self._free.pop()
            return idx, self.entries[idx]
        if len(self.entries) >= self.max_entries:
            raise KernelError(errno.ENOSPC, "grant table full")
        self.entries.append(Grant())
        return len(self.entries) - 1, self.entries[-1]

    @staticmethod
    def _check_access(access: int) -> None:
        if access & ~_USER_FLAGS or not access & (CPF_READ | CPF_WRITE):
            raise KernelError(errno.EINVAL, f"bad grant access {access:#x}")

    def direct(self, who_to: int, start: int, length: int, access: int) -> int:
        """Grant ``who_to`` (or ANY) ``access`` to ``[start, start+length)``; returns the id."""
        self._check_access(access)
        if length < 0 or start < 0 or start + length > _MAX_ADDR:
            raise KernelError(errno.EINVAL, f"bad grant range {start:#x}+{length:#x}")
        idx, g = self._alloc()
        g.flags = CPF_USED | CPF_VALID | CPF_DIRECT | access
        g.who_to, g.start, g.length, g.faulted = who_to, start, length, GRANT_INVALID
        g.buffer = None
        return g.seq << _INDEX_BITS | idx

    def buffer(self, who_to: int, buf: bytearray, access: int) -> int:
        """Grant ``who_to`` ``access`` to a server's own buffer ``buf``.

        Servers keep their data as Python objects rather than in a simulated address
        space; a buffer grant lets another process's kernel copies reach such a buffer
        with the same checks as a direct grant (offset and length within ``buf``).
        """
        gid = self.direct(who_to, 0, len(buf), access)
        self.entries[gid & _INDEX_MASK].buffer = buf
        return gid

    def indirect(self, who_to: int, who_from: int, grant: int) -> int:
        """Re-grant to ``who_to`` the grant ``grant`` that ``who_from`` gave us."""
        idx, g = self._alloc()
        g.flags = CPF_USED | CPF_VALID | CPF_INDIRECT
        g.who_to, g.who_from, g.grant, g.faulted = who_to, who_from, grant, GRANT_INVALID
        return g.seq << _INDEX_BITS | idx

    def magic(self, who_to: int, who_from: int, start: int, length: int, access: int) -> int:
        """Grant ``who_to`` ``access`` to ``who_from``'s range (privileged granters only)."""
        gid = self.direct(who_to, start, length, access)
        g = self.entries[gid & _INDEX_MASK]
        g.flags = (g.flags & ~CPF_DIRECT) | CPF_MAGIC
        g.who_from = who_from
        return gid

    def get(self, gid: int) -> Grant | None:
        """The valid grant with id ``gid``, or None."""
        if gid < 0:
            return None
        idx = gid & _INDEX_MASK
        if idx >= len(self.entries):
            return None
        g = self.entries[idx]
        if g.flags & (CPF_USED | CPF_VALID) != CPF_USED | CPF_VALID or g.seq != gid >> _INDEX_BITS:
            return None
        return g

    def revoke(self, gid: int) -> int:
        """Invalidate ``gid`` forever; GRANT_FAULTED if a CPF_TRY copy faulted on it, else 0.

        Raises:
            KernelError: EINVAL if ``gid`` is not a valid grant of this table.
        """
        g = self.get(gid)
        if g is None:
            raise KernelError(errno.EINVAL, f"no grant {gid}")
        faulted = g.flags & CPF_TRY and g.faulted == gid
        g.flags = 0
        g.seq += 1
        g.buffer = None
        self._free.append(gid & _INDEX_MASK)
        return GRANT_FAULTED if faulted else 0


@dataclass(slots=True)
class Verified:
    """Where a verified grant leads: whose memory, at which address, and the TRY mark."""

    owner: Proc
    vaddr: int
    try_grant: Grant | None
    try_gid: int
    buffer: bytearray | None = None
    """For a buffer grant: the server buffer (``vaddr`` is then an offset into it)."""


def verify_grant(
    k: Kernel, granter_e: int, grantee_e: int, gid: int, nbytes: int, access: int, offset: int
) -> Verified:
    """Check that ``grantee_e`` may ``access`` ``nbytes`` at ``offset`` of grant ``gid``.

    Follows indirect grants (at most MAX_INDIRECT_DEPTH, ELOOP beyond), checks rights
    and range on the final grant only, as MINIX does.

    Raises:
        KernelError: EINVAL (bad granter or id), EPERM (no such valid grant, wrong
            grantee, rights or range), ELOOP (indirection too deep).
    """
    for _ in range(MAX_INDIRECT_DEPTH + 1):
        granter = k.find(granter_e)
        if granter is None or gid < 0:
            raise KernelError(errno.EINVAL, f"bad granter {granter_e} or grant {gid}")
        g = granter.grants.get(gid) if granter.grants is not None else None
        if g is None:
            raise KernelError(errno.EPERM, f"{granter.name} has no valid grant {gid}")
        if not (g.who_to == grantee_e or grantee_e == ANY or g.who_to == ANY):
            raise KernelError(errno.EPERM, f"grant {gid} of {granter.name} is not for {grantee_e}")
        if g.flags & CPF_INDIRECT:
            grantee_e, granter_e, gid = granter.endpoint, g.who_from, g.grant
            continue
        if g.flags & access != access:
            raise KernelError(errno.EPERM, f"grant {gid} lacks access {access:#x}")
        if g.start + g.length > _MAX_ADDR or offset < 0 or offset + nbytes > g.length:
            raise KernelError(errno.EPERM, f"{offset}+{nbytes} outside grant of {g.length} bytes")
        try_grant = g if g.flags & CPF_TRY else None
        if g.flags & CPF_DIRECT:
            return Verified(granter, g.start + offset, try_grant, gid, g.buffer)
        if g.flags & CPF_MAGIC:
            if not granter.priv.magic_grants:
                raise KernelError(errno.EPERM, f"{granter.name} may not make magic grants")
            owner = k.find(g.who_from)
            if owner is None:
                raise KernelError(errno.EPERM, f"magic grant {gid} names a dead process")
            return Verified(owner, g.start + offset, try_grant, gid)
        raise KernelError(errno.EPERM, f"grant {gid} has no type")
    raise KernelError(errno.ELOOP, "grant indirection too deep")
