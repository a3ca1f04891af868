"""The simulated x86 MMU: 32-bit paging without PAE, bit-exact to Intel SDM vol. 3A ch. 4.

This is the paging hardware every simulated process runs on. The VM server builds page
directories and page tables by writing entries into :class:`~kernel.hw.physmem.PhysicalMemory`
in the real x86 layout and points CR3 at a directory; the MMU walks them, sets the accessed
and dirty flags in memory as the processor does, caches translations in its
:class:`~kernel.hw.tlb.TLB` and raises :class:`PageFault` with the CR2 address and the
architectural error code. The kernel turns that fault into a ``VM_PAGEFAULT`` message, as
MINIX's ``exception.c`` does.

Modelled: CR0.PG/WP (PE only as PG's prerequisite), CR3 (PWT/PCD kept, ignored), CR4.PSE
(4 MiB pages) and CR4.PGE (global pages), the SDM 4.6 rights with supervisor-mode writes
honouring CR0.WP, A/D flags (SDM 4.8), INVLPG and the invalidations of SDM 4.10.4.1.

Not modelled: PAE and its NX bit (so the I/D error-code bit is always 0: a fetch is checked
as a read), PSE-36, SMEP/SMAP, PCID, memory types (PWT/PCD/PAT have no effect), and
paging-structure caches across walks (every walk re-reads the PDE, which the SDM permits;
only :meth:`MMU.walk_range` reuses a PDE within one call).

Decisions the SDM leaves open, and what this model does (following QEMU, see
``minix-kernel-vm-x86.md`` §5):

* Reserved bits of a 4 MiB PDE are bits 21:13. With no PSE-36 and MAXPHYADDR=32 the SDM
  formula ``21:(M-19)`` gives exactly that range (QEMU, which implements PSE-36, reserves
  only bit 21). Setting any of them faults with ``PF_RSVD | PF_P``.
* A is set in a PDE that points to a page table as soon as it is used, before the PTE is
  looked at, so it is set even when the PTE then faults. A is never set in a leaf (PTE or
  4 MiB PDE) whose access faults.
* A TLB hit that the cached rights do not allow, and a write hit on an entry cached clean,
  walk again rather than fault from the TLB (the reference pseudo-code; QEMU behaves so).
  Rights granted by an edit without invalidation are therefore seen at once, while rights
  taken away or frames changed stay stale until invalidated.
* A page fault invalidates the TLB entries of the faulting page (SDM 4.10.4.1).
* Changing CR0.WP does not flush: WP is applied at access time against the cached R/W.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.hw.physmem import BusError, PhysicalMemory
from kernel.hw.tlb import TLB

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "CR0_PE",
    "CR0_PG",
    "CR0_WP",
    "CR3_PCD",
    "CR3_PWT",
    "CR4_PAE",
    "CR4_PGE",
    "CR4_PSE",
    "MMU",
    "PDE_4M_FRAME",
    "PDE_4M_RSVD",
    "PF_I",
    "PF_P",
    "PF_RSVD",
    "PF_U",
    "PF_W",
    "PG_A",
    "PG_D",
    "PG_FRAME",
    "PG_G",
    "PG_P",
    "PG_PAT",
    "PG_PCD",
    "PG_PS",
    "PG_PWT",
    "PG_RW",
    "PG_US",
    "PageFault",
]

# Control-register bits (SDM 2.5).
CR0_PE = 1 << 0  #: protected mode; CR0.PG requires it
CR0_WP = 1 << 16  #: supervisor writes honour R/W=0
CR0_PG = 1 << 31  #: paging enabled
CR3_PWT = 1 << 3  #: page-directory write-through (kept, no effect)
CR3_PCD = 1 << 4  #: page-directory cache disable (kept, no effect)
CR4_PSE = 1 << 4  #: 4 MiB pages through PDE.PS
CR4_PAE = 1 << 5  #: physical address extension (not modelled: writing it is refused)
CR4_PGE = 1 << 7  #: global pages

# Paging-entry bits (SDM tables 4-5, 4-6).
PG_P = 1 << 0  #: present
PG_RW = 1 << 1  #: writable
PG_US = 1 << 2  #: user-accessible
PG_PWT = 1 << 3  #: write-through (no effect here)
PG_PCD = 1 << 4  #: cache disable (no effect here)
PG_A = 1 << 5  #: accessed
PG_D = 1 << 6  #: dirty (leaf entries only)
PG_PS = 1 << 7  #: page size: a 4 MiB page, in a PDE when CR4.PSE=1
PG_PAT = 1 << 7  #: PAT index bit, in a PTE (no effect here)
PG_G = 1 << 8  #: global (leaf entries only; needs CR4.PGE)
PG_FRAME = 0xFFFFF000  #: frame / page-table address in a PTE or a PDE->PT
PDE_4M_FRAME = 0xFFC00000  #: frame address in a 4 MiB PDE
PDE_4M_RSVD = 0x003FE000  #: reserved bits 21:13 of a 4 MiB PDE (no PSE-36)

# Page-fault error code (SDM figure 4-12).
PF_P = 1 << 0  #: 0: not present; 1: protection or reserved-bit violation
PF_W = 1 << 1  #: the access was a write
PF_U = 1 << 2  #: the access was made in user mode (CPL 3)
PF_RSVD = 1 << 3  #: a reserved bit was set in an entry
PF_I = 1 << 4  #: instruction fetch; never set here (needs PAE+NXE or SMEP)

_MAX = 0xFFFFFFFF
_AD = PG_A | PG_D
_TABLE_WORDS = PG_FRAME >> 2  # an entry's next-level address, as a word index
_LEAF = PG_FRAME | PG_D | PG_G  # what a TLB entry keeps of the leaf as it is
_RIGHTS = PG_US | PG_RW  # what it keeps ANDed over the levels
# Error-code bits W/R and U/S of each access index ``(write << 1) | user``.
_CODE = (0, PF_U, PF_W, PF_W | PF_U)
# Rights bits each access index needs in every paging entry used, without and with CR0.WP
# (SDM 4.6): user reads need U/S, user writes U/S and R/W, supervisor writes R/W only
# under WP, supervisor reads nothing.
_NEED = ((0, PG_US, 0, PG_US | PG_RW), (0, PG_US, PG_RW, PG_US | PG_RW))


class PageFault(Exception):
    """A #PF: the access at ``cr2`` was not allowed; ``error_code`` says why.

    Attributes:
        cr2: the faulting linear address.
        error_code: the architectural error code, an OR of ``PF_*`` bits.
    """

    __slots__ = ("cr2", "error_code")  # no instance dict to make on every fault

    def __init__(self, cr2: int, error_code: int) -> None:
        # BaseException.__new__ has set ``args`` already: no super().__init__() on
        # this path (every page fault raises one).
        self.cr2 = cr2
        self.error_code = error_code

    @property
    def present(self) -> bool:
        """True for a protection (or reserved-bit) violation, false for a missing page."""
        return bool(self.error_code & PF_P)

    @property
    def write(self) -> bool:
        """True when the faulting access was a write."""
        return bool(self.error_code & PF_W)

    @property
    def user(self) -> bool:
        """True when the faulting access came from user mode."""
        return bool(self.error_code & PF_U)

    def __str__(self) -> str:
        e = self.error_code
        why = "reserved bit" if e & PF_RSVD else "protection" if e & PF_P else "not present"
        kind = "write" if e & PF_W else "read"
        mode = "user" if e & PF_U else "supervisor"
        return f"page fault at {self.cr2:#010x}: {mode} {kind}, {why} (error code {e:#x})"


def _check_u32(name: str, value: int) -> None:
    if not 0 <= value <= _MAX:
        raise ValueError(f"{name} value {value:#x} does not fit in 32 bits")


class MMU:
    """Paging hardware over ``physmem``: control registers, page walk, one TLB.

    Starts with every control register 0 (real mode: paging off, translation is identity).

    Args:
        physmem: the memory holding the paging structures and the pages they map.
        tlb_capacity: TLB entries held before the TLB empties itself.

    Attributes:
        physmem: the memory this MMU walks.
        tlb: the translation cache (inspect it; change it only through the MMU).
    """

    __slots__ = (
        "_by_access",
        "_capacity",
        "_cr0",
        "_cr2",
        "_cr3",
        "_cr4",
        "_entries",
        "_fragments",
        "_need",
        "_words",
        "physmem",
        "tlb",
    )

    def __init__(self, physmem: PhysicalMemory, tlb_capacity: int = 4096) -> None:
        self.physmem = physmem
        self._words = physmem.words
        self._cr0 = 0
        self._cr2 = 0
        self._cr3 = 0
        self._cr4 = 0
        self._need = _NEED[0]
        self.tlb = TLB(wp=False, capacity=tlb_capacity)
        # The TLB never rebinds its dictionaries, so the hot paths can hold them.
        self._by_access = self.tlb.by_access
        self._entries = self.tlb.entries
        self._fragments = self.tlb.large
        self._capacity = tlb_capacity

    # -- control registers ------------------------------------------------------------

    @property
    def cr0(self) -> int:
        """CR0. Turning PG off flushes the whole TLB; a WP change is applied at access time.

        Raises:
            ValueError: setting PG without PE (the #GP the processor would raise), or a
                value wider than 32 bits.
        """
        return self._cr0

    @cr0.setter
    def cr0(self, value: int) -> None:
        _check_u32("CR0", value)
        if value & CR0_PG and not value & CR0_PE:
            raise ValueError("CR0.PG requires CR0.PE (#GP)")
        old = self._cr0
        self._cr0 = value
        if old & CR0_PG and not value & CR0_PG:
            self.tlb.flush_all()
        wp = bool(value & CR0_WP)
        self._need = _NEED[wp]
        self.tlb.set_wp(wp)

    @property
    def cr2(self) -> int:
        """CR2: the linear address of the last page fault :meth:`translate` raised."""
        return self._cr2

    @cr2.setter
    def cr2(self, value: int) -> None:
        _check_u32("CR2", value)
        self._cr2 = value

    @property
    def cr3(self) -> int:
        """CR3: page-directory base (bits 31:12). Every write flushes non-global entries.

        Raises:
            ValueError: a value wider than 32 bits.
        """
        return self._cr3

    @cr3.setter
    def cr3(self, value: int) -> None:
        _check_u32("CR3", value)
        self._cr3 = value
        self.tlb.flush_nonglobal()

    @property
    def cr4(self) -> int:
        """CR4: PSE and PGE. A write that changes either flushes everything.

        The SDM requires the flush for PGE; for PSE it is allowed (a processor may always
        invalidate more) and it keeps 4 KiB and 4 MiB readings of one PDE from coexisting.

        Raises:
            ValueError: setting PAE (not modelled), or a value wider than 32 bits.
        """
        return self._cr4

    @cr4.setter
    def cr4(self, value: int) -> None:
        _check_u32("CR4", value)
        if value & CR4_PAE:
            raise ValueError("CR4.PAE: only 32-bit paging without PAE is modelled")
        old = self._cr4
        self._cr4 = value
        if (old ^ value) & (CR4_PGE | CR4_PSE):
            self.tlb.flush_all()

    @property
    def paging(self) -> bool:
        """True when CR0.PG is set."""
        return bool(self._cr0 & CR0_PG)

    # -- translation ------------------------------------------------------------------

    def translate(self, vaddr: int, write: bool, user: bool, fetch: bool = False) -> int:
        """Translate the linear address ``vaddr`` for one access, as the processor would.

        A TLB hit returns at once. Otherwise the current page directory is walked, A (and
        on a write D) set in memory, and the translation cached. With CR0.PG clear the
        translation is the identity and nothing is cached.

        Args:
            vaddr: the linear address, 0 to 2**32-1.
            write: the access writes.
            user: the access is made at CPL 3.
            fetch: the access is an instruction fetch; checked as a read, since 32-bit
                paging without PAE has no execute-disable (the I/D error bit stays 0).

        Returns:
            The physical address.

        Raises:
            PageFault: the access is not allowed; CR2 is set to ``vaddr`` and the TLB
                entries of its page are invalidated.
            BusError: the walk reached an entry outside physical memory.
            ValueError: ``vaddr`` is not a 32-bit address.
        """
        # Hit: one lookup in the table of pages this kind of access may use as cached.
        access = (write << 1) | user
        vpn = vaddr >> 12
        base = self._by_access[access].get(vpn)
        if base is not None:
            return base | (vaddr & 0xFFF)

        # Miss. The common case (4 KiB page, present, allowed, nothing cached for the
        # page) is inlined here, without side effects until it is known to succeed; every
        # other case goes to _miss, whose _walk is the one full statement of the rules.
        entries = self._entries
        if vpn in entries or not 0 <= vaddr <= 0xFFFFFFFF or not self._cr0 & CR0_PG:
            return self._miss(vaddr, access)
        words = self._words
        # Word indexes of the PDE and the PTE: an entry's bits 31:12 are the next
        # level's address, so its word index is entry >> 2 with the low 10 bits clear.
        pde_i = (self._cr3 >> 2 & _TABLE_WORDS) | vpn >> 10
        try:
            pde = words[pde_i]
            if (pde & PG_PS and self._cr4 & CR4_PSE) or not pde & PG_P:
                return self._miss(vaddr, access)
            pte_i = (pde >> 2 & _TABLE_WORDS) | (vpn & 0x3FF)
            pte = words[pte_i]
        except IndexError:
            return self._miss(vaddr, access)
        if not pte & PG_P:
            # Not present: the fault VM resolves (every zero-fill, every first touch).
            # Raised here as _walk would (the PDE was used, so it gets A), without a
            # second walk. Nothing is cached for the page; a #PF would also drop the
            # fragments of a 4 MiB page cached here, if there are any.
            if not pde & PG_A:
                words[pde_i] = pde | PG_A
            self._cr2 = vaddr
            if self._fragments:
                self.tlb.invalidate_page(vpn)
            raise PageFault(vaddr, _CODE[access])
        need = self._need[access]
        if pde & pte & need != need:
            return self._miss(vaddr, access)
        if not pde & PG_A:
            words[pde_i] = pde | PG_A
        new = pte | (_AD if write else PG_A)
        if new != pte:
            words[pte_i] = new
        frame = new & PG_FRAME
        leaf = (new & _LEAF) | (pde & new & _RIGHTS)
        if leaf & PG_G or len(entries) >= self._capacity:
            if not self._cr4 & CR4_PGE:
                leaf &= ~PG_G
            self.tlb.fill(vpn, leaf, access)
        else:
            entries[vpn] = leaf
            self._by_access[access][vpn] = frame
        return frame | (vaddr & 0xFFF)

    def _miss(self, vaddr: int, access: int) -> int:
        """Translate when the TLB cannot answer ``access`` at once (the general case)."""
        if not 0 <= vaddr <= _MAX:
            raise ValueError(f"linear address {vaddr:#x} does not fit in 32 bits")
        if not self._cr0 & CR0_PG:
            return vaddr
        vpn = vaddr >> 12
        tlb = self.tlb
        frame = tlb.lookup(vpn, access)
        if frame is not None:
            return frame | (vaddr & 0xFFF)
        try:
            leaf = self._walk(self._cr3, vaddr, access > 1, bool(access & 1))
        except PageFault:
            self._cr2 = vaddr
            tlb.invalidate_page(vpn)
            raise
        if not self._cr4 & CR4_PGE:
            leaf &= ~PG_G  # G makes an entry global only under CR4.PGE
        tlb.fill(vpn, leaf, access)
        return (leaf & PG_FRAME) | (vaddr & 0xFFF)

    def walk(self, cr3: int, vaddr: int, write: bool, user: bool = False) -> int:
        """Walk the page directory at ``cr3`` for one access, bypassing the TLB.

        This is how the kernel reaches another address space (MINIX maps the target's PDE
        into a window of the current directory with ``createpde``; the effect is a walk of
        the target's tables). Rights, A and D follow the same rules as :meth:`translate`,
        including CR0.WP and CR4.PSE, and the walk happens even with CR0.PG clear.

        A fault here is reported only by the exception: CR2 and the TLB are left alone,
        because the faulting address belongs to another address space and the caller (the
        kernel's copy engine) handles the fault itself rather than as a #PF of the running
        process.

        Args:
            cr3: a CR3 value: the page directory's physical address in bits 31:12.
            vaddr: the linear address in that address space.
            write: the access writes.
            user: the access is a user-mode one (kernel copies are supervisor accesses).

        Returns:
            The physical address.

        Raises:
            PageFault: the access is not allowed.
            BusError: the walk reached an entry outside physical memory.
            ValueError: ``cr3`` or ``vaddr`` is not 32-bit.
        """
        _check_u32("CR3", cr3)
        _check_u32("linear address", vaddr)
        return (self._walk(cr3, vaddr, write, user) & PG_FRAME) | (vaddr & 0xFFF)

    def walk_range(
        self, cr3: int, vaddr: int, n: int, write: bool, user: bool = False
    ) -> Iterator[tuple[int, int]]:
        """Walk ``[vaddr, vaddr + n)`` in the space at ``cr3`` lazily, one page at a time.

        Yields ``(paddr, length)`` for each piece of the range that lies in one page (a
        whole 4 MiB page is one piece), in order. Each page is walked only when the
        consumer asks for it, with the rules, A/D updates and fault behaviour of
        :meth:`walk`, so a consumer that stops at a fault has touched exactly the pages
        before it. This is the copy engine's view of another address space.

        Within one call the PDE of a 4 MiB region is read once and reused for the
        region's pages (a paging-structure cache, which the SDM allows to be stale); every
        PTE is read when its page is reached.

        Args:
            cr3: a CR3 value: the page directory's physical address in bits 31:12.
            vaddr: the first linear address.
            n: the length of the range in bytes.
            write: the accesses write.
            user: the accesses are user-mode ones (kernel copies are supervisor accesses).

        Raises:
            PageFault: when the consumer reaches a page that faults; ``cr2`` is the first
                address of the range in that page. The generator is finished then.
            BusError: the walk reached an entry outside physical memory.
            ValueError: ``cr3`` is not 32-bit, ``n`` is negative or the range leaves the
                32-bit address space (raised on the first ``next``).
        """
        _check_u32("CR3", cr3)
        if n < 0 or not 0 <= vaddr <= vaddr + n <= _MAX + 1:
            raise ValueError(f"range {vaddr:#x}+{n:#x} is not inside the 32-bit address space")
        end = vaddr + n
        words = self._words
        pd = cr3 & PG_FRAME
        access = (write << 1) | user
        need = self._need[access]
        ad = _AD if write else PG_A
        large = self._cr4 & CR4_PSE
        va = vaddr
        while va < end:
            pde_i = (pd | (va >> 20 & 0xFFC)) >> 2
            pde = words[pde_i] if pde_i < len(words) else 0
            if not pde & PG_P or (pde & PG_PS and large):
                # Not present, or a 4 MiB page: the general walk decides, and a 4 MiB
                # page is one piece up to its end.
                leaf = self._walk(cr3, va, write, user)
                piece = min(end, (va | (0x3FFFFF if leaf & PG_PS else 0xFFF)) + 1) - va
                yield (leaf & PG_FRAME) | (va & 0xFFF), piece
                va += piece
                continue
            if not pde & PG_A:
                words[pde_i] = pde | PG_A
            pt = (pde & PG_FRAME) >> 2
            region_end = min(end, (va | 0x3FFFFF) + 1)
            while va < region_end:
                pte_i = pt | (va >> 12 & 0x3FF)
                pte = words[pte_i] if pte_i < len(words) else 0
                if not pte & PG_P or pde & pte & need != need:
                    # Let the general walk raise the exact fault (or BusError).
                    leaf = self._walk(cr3, va, write, user)
                    frame = leaf & PG_FRAME
                else:
                    new = pte | ad
                    if new != pte:
                        words[pte_i] = new
                    frame = new & PG_FRAME
                piece = min(region_end, (va | 0xFFF) + 1) - va
                yield frame | (va & 0xFFF), piece
                va += piece

    def _walk(self, cr3: int, vaddr: int, write: bool, user: bool) -> int:
        """Walk for one access, setting A/D; the caller has checked the 32-bit arguments.

        Returns:
            The 4 KiB translation packed in one int (no allocation on this path): the
            frame of ``vaddr``'s 4 KiB page in bits 31:12, the effective (ANDed) ``PG_US``
            and ``PG_RW``, the leaf's ``PG_D`` after this access and ``PG_G``, and
            ``PG_PS`` when the leaf is a 4 MiB PDE.
        """
        access = (write << 1) | user
        words = self._words
        pde_i = ((cr3 & PG_FRAME) | ((vaddr >> 20) & 0xFFC)) >> 2
        try:
            pde = words[pde_i]
        except IndexError:
            raise BusError(pde_i << 2, 4, len(words) << 2) from None
        if not pde & PG_P:
            raise PageFault(vaddr, _CODE[access])
        # The rights bits (U/S, R/W) this access needs in every entry used (SDM 4.6).
        need = self._need[access]

        if pde & PG_PS and self._cr4 & CR4_PSE:
            # A 4 MiB page: the PDE is the leaf, and a faulting leaf gets no A.
            if pde & PDE_4M_RSVD:
                raise PageFault(vaddr, PF_P | PF_RSVD | _CODE[access])
            if pde & need != need:
                raise PageFault(vaddr, PF_P | _CODE[access])
            new = pde | (_AD if write else PG_A)
            if new != pde:
                words[pde_i] = new
            return (
                (pde & PDE_4M_FRAME)
                | (vaddr & 0x3FF000)
                | (new & (PG_US | PG_RW | PG_D | PG_G))
                | PG_PS
            )

        # The PDE points to a page table; it is used (A set) whatever the PTE says.
        if not pde & PG_A:
            words[pde_i] = pde | PG_A
        pte_i = ((pde & PG_FRAME) | ((vaddr >> 10) & 0xFFC)) >> 2
        try:
            pte = words[pte_i]
        except IndexError:
            raise BusError(pte_i << 2, 4, len(words) << 2) from None
        if not pte & PG_P:
            raise PageFault(vaddr, _CODE[access])
        if pde & pte & need != need:
            raise PageFault(vaddr, PF_P | _CODE[access])
        new = pte | (_AD if write else PG_A)
        if new != pte:
            words[pte_i] = new
        return (new & (PG_FRAME | PG_D | PG_G)) | (pde & new & (PG_US | PG_RW))

    def invlpg(self, vaddr: int) -> None:
        """INVLPG: drop the TLB entries of ``vaddr``'s page, global ones included.

        Raises:
            ValueError: ``vaddr`` is not a 32-bit address.
        """
        _check_u32("linear address", vaddr)
        self.tlb.invalidate_page(vaddr >> 12)
