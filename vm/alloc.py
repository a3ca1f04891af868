"""The physical frame allocator: which 4 KiB frames of RAM are free (MINIX's ``alloc.c``).

VM owns all physical memory except the frames the boot reserves for the kernel image
(``[0, reserved)``). A byte per frame says whether it is in use; a stack of frames
freed or never used serves single-frame requests in O(1) (like MINIX's LIFO cache of
recently freed frames, and, from a fresh boot, high addresses first as MINIX's
downward scan does). Physically contiguous runs are found by a search of the byte map
from the top. Running out is an ordinary :class:`~vm.errors.VmError` (ENOMEM), never a
crash; freeing a frame twice or a reserved frame is a VM bug and raises RuntimeError.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from vm.errors import VmError

if TYPE_CHECKING:
    from kernel.hw import PhysicalMemory

PAGE: Final = 4096
ZERO_PAGE: Final = bytes(PAGE)


class FrameAllocator:
    """Frames of ``physmem`` above ``reserved``: allocate, free, count.

    Args:
        physmem: the machine's memory.
        reserved: frames ``[0, reserved)`` belong to the kernel image and are never given
            out.

    Attributes:
        nframes: frames of physical memory in all.
        reserved: frames kept for the kernel.
        free: frames free now.
    """

    __slots__ = ("_stack", "_used", "_view", "free", "nframes", "reserved")

    def __init__(self, physmem: PhysicalMemory, reserved: int) -> None:
        if not 0 <= reserved <= physmem.nframes:
            raise ValueError(f"cannot reserve {reserved} of {physmem.nframes} frames")
        self.nframes = physmem.nframes
        self.reserved = reserved
        self._view = physmem.view
        self._used = bytearray(self.nframes)
        self._used[:reserved] = b"\x01" * reserved
        # pop() takes from the end: the highest frames go first, as in MINIX.
        self._stack = list(range(reserved, self.nframes))
        self.free = self.nframes - reserved

    def alloc(self, zero: bool = True) -> int:
        """One frame; returns its physical address (zeroed unless ``zero`` is False).

        Raises:
            VmError: ENOMEM when no frame is free.
        """
        stack, used = self._stack, self._used
        while stack:
            f = stack.pop()
            if not used[f]:  # entries go stale when a contiguous run takes a frame
                used[f] = 1
                self.free -= 1
                phys = f << 12
                if zero:
                    self._view[phys : phys + PAGE] = ZERO_PAGE
                return phys
        raise VmError(errno.ENOMEM, "out of physical frames")

    def alloc_run(self, n: int, zero: bool = True) -> int:
        """``n`` physically contiguous frames; returns the first one's address.

        Raises:
            VmError: ENOMEM when no free run of ``n`` frames exists; EINVAL for n < 1.
        """
        if n < 1:
            raise VmError(errno.EINVAL, f"contiguous run of {n} frames")
        f = self._used.rfind(bytes(n), self.reserved)
        if f < 0:
            raise VmError(errno.ENOMEM, f"no {n} contiguous free frames")
        self._used[f : f + n] = b"\x01" * n
        self.free -= n
        phys = f << 12
        if zero:
            self._view[phys : phys + n * PAGE] = bytes(n * PAGE)
        return phys

    def release(self, phys: int) -> None:
        """Give back the frame at ``phys``.

        Raises:
            RuntimeError: the frame is reserved, outside memory or already free (a VM bug).
        """
        f = phys >> 12
        if phys & 0xFFF or not self.reserved <= f < self.nframes or not self._used[f]:
            raise RuntimeError(f"VM bug: freeing frame {phys:#x}, which is not in use")
        self._used[f] = 0
        self._stack.append(f)
        self.free += 1
        if len(self._stack) > 2 * self.nframes:
            self._compact()

    def _compact(self) -> None:
        """Drop the stale entries contiguous runs left on the stack."""
        used = self._used
        self._stack = [f for f in range(self.reserved, self.nframes) if not used[f]]

    def in_use(self, phys: int) -> bool:
        """Whether the frame at ``phys`` is allocated (reserved frames count as in use)."""
        f = phys >> 12
        return 0 <= f < self.nframes and bool(self._used[f])

    def used_frames(self) -> list[int]:
        """Physical addresses of every allocated frame above the reserved ones."""
        used = self._used
        return [f << 12 for f in range(self.reserved, self.nframes) if used[f]]

    def largest_run(self) -> int:
        """The length, in frames, of the longest run of free frames."""
        free_map = bytes(self._used[self.reserved :])
        return max((len(run) for run in free_map.split(b"\x01")), default=0)
