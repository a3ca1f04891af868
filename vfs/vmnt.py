"""The mount table (MINIX's ``vmnt.h``): one :class:`Vmnt` per mounted file server.

A vmnt names the file server's endpoint, its root vnode and the vnode it is mounted
on (None for the root file system), and what getvfsstat reports: the mount path as
given, the source name, the file server's label and the ST_* flags. Its three-level
lock orders after the process lock and before vnode locks: READ while an operation
uses the file system, WRITE to mount or unmount.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vfs.tll import TLL
    from vfs.vnode import Vnode


@dataclass(slots=True, eq=False)
class Vmnt:
    """One mounted file system."""

    fs_e: int
    dev: int
    tll: TLL
    root: Vnode | None = None
    mounted_on: Vnode | None = None
    # What getvfsstat reports (MINIX's m_mount_path, m_mount_dev, m_fstype, m_flags).
    path: bytes = b"/"
    source: bytes = b"none"
    label: bytes = b""
    flags: int = 0
