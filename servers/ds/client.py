"""DS's client calls (MINIX's ``ds_publish_*``/``ds_retrieve_*``), for system processes.

Each call is one ``sendrec`` to DS; a failure raises :class:`~kernel.errors.KernelError`
with DS's errno (or the IPC error, EDEADSRCDST when DS is not running). Blobs cross
through a buffer grant made for the call and revoked after it.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from kernel.com import DS_PROC_NR
from kernel.errors import KernelError
from kernel.grants import CPF_READ, CPF_WRITE
from servers.ds.protocol import (
    DS_MAX_MEM,
    DsCheck,
    DsDelete,
    DsPublishLabel,
    DsPublishMem,
    DsPublishU32,
    DsReply,
    DsRetrieveLabel,
    DsRetrieveLabelName,
    DsRetrieveMem,
    DsRetrieveU32,
    DsSubscribe,
)

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.process import Process


async def _call(proc: Process, msg: Message, ds: int) -> DsReply:
    reply = await proc.sendrec(ds, msg)
    if not isinstance(reply, DsReply):
        raise KernelError(errno.EIO, f"DS answered {reply.mtype}")
    if reply.status:
        raise KernelError(reply.status, f"DS {msg.mtype}")
    return reply


async def ds_publish_label(
    proc: Process, key: str, endpoint: int, flags: int = 0, *, ds: int = DS_PROC_NR
) -> None:
    """Publish ``key`` -> ``endpoint``."""
    await _call(proc, DsPublishLabel(key, endpoint, flags), ds)


async def ds_publish_u32(
    proc: Process, key: str, value: int, flags: int = 0, *, ds: int = DS_PROC_NR
) -> None:
    """Publish ``key`` = ``value``."""
    await _call(proc, DsPublishU32(key, value, flags), ds)


async def ds_publish_mem(
    proc: Process, key: str, data: bytes, flags: int = 0, *, ds: int = DS_PROC_NR
) -> None:
    """Publish ``key`` = ``data`` (copied by DS through a grant)."""
    buf = bytearray(data)
    gid = proc.grant_buffer(ds, buf, CPF_READ)
    try:
        await _call(proc, DsPublishMem(key, gid, len(buf), flags), ds)
    finally:
        proc.revoke(gid)


async def ds_retrieve_label(proc: Process, key: str, *, ds: int = DS_PROC_NR) -> int:
    """The endpoint published under ``key`` (ESRCH when none)."""
    return (await _call(proc, DsRetrieveLabel(key), ds)).value


async def ds_retrieve_label_name(proc: Process, endpoint: int, *, ds: int = DS_PROC_NR) -> str:
    """The label published for ``endpoint`` (ENOENT when none)."""
    return (await _call(proc, DsRetrieveLabelName(endpoint), ds)).key


async def ds_retrieve_u32(proc: Process, key: str, *, ds: int = DS_PROC_NR) -> int:
    """The value published under ``key``."""
    return (await _call(proc, DsRetrieveU32(key), ds)).value


async def ds_retrieve_mem(
    proc: Process, key: str, length: int = DS_MAX_MEM, *, ds: int = DS_PROC_NR
) -> bytes:
    """The blob under ``key`` (at most ``length`` bytes of it)."""
    buf = bytearray(length)
    gid = proc.grant_buffer(ds, buf, CPF_WRITE)
    try:
        reply = await _call(proc, DsRetrieveMem(key, gid, length), ds)
    finally:
        proc.revoke(gid)
    return bytes(buf[: min(reply.value, length)])


async def ds_delete(proc: Process, key: str, *, ds: int = DS_PROC_NR) -> None:
    """Remove ``key``."""
    await _call(proc, DsDelete(key), ds)


async def ds_subscribe(proc: Process, regex: str, flags: int = 0, *, ds: int = DS_PROC_NR) -> None:
    """Be notified of changes to keys matching ``regex`` (``re.fullmatch``)."""
    await _call(proc, DsSubscribe(regex, flags), ds)


async def ds_check(proc: Process, *, ds: int = DS_PROC_NR) -> tuple[str, int] | None:
    """One changed key and its DSF_TYPE_*, or None when none is left."""
    try:
        reply = await _call(proc, DsCheck(), ds)
    except KernelError as exc:
        if exc.errno == errno.ENOENT:  # nothing changed
            return None
        raise
    return reply.key, reply.flags


__all__ = [
    "ds_check",
    "ds_delete",
    "ds_publish_label",
    "ds_publish_mem",
    "ds_publish_u32",
    "ds_retrieve_label",
    "ds_retrieve_label_name",
    "ds_retrieve_mem",
    "ds_retrieve_u32",
    "ds_subscribe",
]
