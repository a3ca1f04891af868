"""Fixed process slots of the boot image (MINIX's ``include/minix/com.h``).

Boot processes start with generation 0, so each one's first endpoint equals its
slot number: PM is endpoint 0, VM endpoint 8, as in MINIX. A restarted service keeps
its slot and gets a new generation, hence a new endpoint; servers that are never
restarted (PM, VM, VFS) keep these endpoints for the life of the system.
"""

from __future__ import annotations

from typing import Final

PM_PROC_NR: Final = 0
VFS_PROC_NR: Final = 1
RS_PROC_NR: Final = 2
MEM_PROC_NR: Final = 3
SCHED_PROC_NR: Final = 4
TTY_PROC_NR: Final = 5
DS_PROC_NR: Final = 6
MIB_PROC_NR: Final = 7
VM_PROC_NR: Final = 8
PFS_PROC_NR: Final = 9
ROOT_FS_PROC_NR: Final = 10
INIT_PROC_NR: Final = 11
LAST_SPECIAL_PROC_NR: Final = INIT_PROC_NR

KERNEL_BASE: Final = 0xF000_0000
"""The kernel's mapping starts here in every address space; user space lies below it."""
