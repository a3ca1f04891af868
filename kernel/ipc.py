"""IPC primitives with MINIX semantics: send, receive, sendrec, notify, senda.

Every function here runs in the thread that holds the CPU (``k.current``) and is a
choice point: it ends either in :meth:`Kernel.yield_cpu` (the caller may go on) or in
:meth:`Kernel.block` (the caller waits until a partner wakes it).

The rules, from MINIX's ``proc.c`` (reference §1):

- ``send`` delivers at once to a destination receiving from the caller or from ANY;
  otherwise the caller joins the tail of the destination's caller queue and blocks.
- ``receive`` takes, in this order: a pending notification (not while a sendrec waits
  for its reply), an asynchronous message, then a queued sender. Where several could
  go next, the policy chooses (FIFO: lowest slot for notifications, queue order for
  senders).
- ``sendrec`` marks the caller REPLY_PEND, sends, then receives from the same
  destination; notifications cannot satisfy it.
- ``notify`` never blocks: delivered if the destination waits for it, else a pending
  bit per source, so notifications coalesce.
- ``senda`` never blocks: delivered if possible, else kept in the sender's queue and
  announced by a pending bit on the destination; system processes only.
- Before blocking, the chain of blocked partners is walked; a cycle fails with ELOCKED.
- When a process dies, everyone blocked on it fails with EDEADSRCDST.
"""

from __future__ import annotations

import errno as _errno
from typing import TYPE_CHECKING, Final

from kernel import errors
from kernel.endpoint import ANY, ASYNCM, HARDWARE, NR_PROCS, NR_TASKS, SELF, SYSTEM
from kernel.errors import KernelError
from kernel.message import (
    CALL_NOTIFY,
    CALL_RECEIVE,
    CALL_SEND,
    CALL_SENDA,
    CALL_SENDNB,
    CALL_SENDREC,
    FROM_KERNEL,
    Message,
    Notify,
    stamp,
)
from kernel.proc import (
    BLOCK_IPC,
    MF_REPLY_PEND,
    MF_SENDING_FROM_KERNEL,
    RTS_RECEIVING,
    RTS_SENDING,
    Proc,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from kernel.kernel import Kernel
    from kernel.proc import Thread

# Asynchronous-message flags (MINIX's AMF_*).
AMF_NOTIFY: Final = 0x4
"""Notify the sender (from ASYNCM) when the message has been delivered or failed."""
AMF_NOREPLY: Final = 0x8
"""Do not deliver while the destination waits for a sendrec reply."""
AMF_NOTIFY_ERR: Final = 0x10
"""Notify the sender only if delivery failed."""
_AMF_ALL: Final = AMF_NOTIFY | AMF_NOREPLY | AMF_NOTIFY_ERR
SENDA_LIMIT: Final = 16 * (NR_TASKS + NR_PROCS)


class AsyncEntry:
    """One asynchronous message: where it goes and, once done, how it ended."""

    __slots__ = ("done", "dst", "flags", "msg", "result")

    def __init__(self, dst: int, msg: Message, flags: int) -> None:
        self.dst = dst
        self.msg = msg
        self.flags = flags
        self.done = False
        self.result = 0


def _target(k: Kernel, p: Proc, dst_e: int, call: int) -> Proc:
    # _check_trap() and Priv.may_send_to() inlined: this starts every send.
    priv = p.priv
    if not priv.trap_mask & (1 << call):
        raise KernelError(errors.ETRAPDENIED, f"{p.name} may not use IPC call {call}")
    if dst_e == ANY:
        raise KernelError(_errno.EINVAL, "ANY is a source for receive only")
    dst = p if dst_e == SELF else k.find(dst_e)
    if dst is None:
        raise KernelError(errors.EDEADSRCDST, f"no live process at endpoint {dst_e}")
    if priv.ipc_to is not None and dst.slot not in priv.ipc_to:
        raise KernelError(errors.ECALLDENIED, f"{p.name} may not send to {dst.name}")
    if dst.slot < 0:
        raise KernelError(errors.ETRAPDENIED, f"{dst.name} is a kernel task")
    return dst


def _check_message(msg: object) -> Message:
    if not isinstance(msg, Message):
        raise KernelError(_errno.EINVAL, f"not a message: {type(msg).__name__}")
    return msg


def will_receive(dst: Proc, src_e: int) -> bool:
    """MINIX's WILLRECEIVE: ``dst`` is blocked receiving from ``src_e`` or from ANY."""
    return dst.rts & (RTS_RECEIVING | RTS_SENDING) == RTS_RECEIVING and (
        dst.getfrom == ANY or dst.getfrom == src_e
    )


def deliver(k: Kernel, dst: Proc, msg: Message, status: int) -> None:
    """Hand ``msg`` to ``dst``, which is blocked receiving it, and wake it."""
    dst.delivered = msg
    dst.ipc_status = status
    dst.rts &= ~RTS_RECEIVING
    dst.misc &= ~MF_REPLY_PEND
    if k.tracer is not None:
        k.tracer.event("deliver", dst, src=msg.m_source, mtype=msg.mtype)
    thread = dst.ipc_thread
    if thread is not None:
        dst.ipc_thread = None
        # Kernel.wake() inlined: this is on every IPC delivery.
        thread.blocked &= ~BLOCK_IPC
        if not thread.blocked:
            k.make_ready(thread)


def deadlock(k: Kernel, function: int, cp: Proc, src_dst_e: int) -> int:
    """Size of the cycle that blocking ``cp`` on ``src_dst_e`` would close, or 0."""
    group = 1
    ep = src_dst_e
    for _ in range(NR_PROCS + NR_TASKS):
        if ep == ANY:
            return 0
        xp = k.find(ep)
        if xp is None:
            return 0
        group += 1
        if xp.rts & RTS_SENDING:
            ep = xp.sendto
        elif xp.rts & RTS_RECEIVING:
            ep = xp.getfrom
        else:
            return 0
        if ep == cp.endpoint:
            if group == 2 and (xp.rts ^ (function << 2)) & RTS_SENDING:
                return 0
            return group
    return 0


def _check_one_blocker(p: Proc) -> None:
    # IPC state is per process (as in MINIX): only one thread may block in IPC at a time.
    # Multi-threaded servers let one thread receive and the others use senda/notify.
    if p.ipc_thread is not None:
        raise KernelError(_errno.EBUSY, f"another thread of {p.name} is blocked in IPC")


def _partner_died(p: Proc) -> None:
    """Raise the error a partner that died left for ``p``'s blocked IPC (``ipc_error``)."""
    code, p.ipc_error = p.ipc_error, 0
    raise KernelError(code, "IPC partner died")


async def send(k: Kernel, thread: Thread, dst_e: int, msg: Message, call: int = CALL_SEND) -> None:
    """Send ``msg`` to ``dst_e``; ``call`` is CALL_SEND or CALL_SENDNB.

    Blocks (CALL_SEND) until the destination receives it. CALL_SENDNB fails with
    ENOTREADY instead of blocking.
    """
    if _post(k, thread, dst_e, msg, call):
        await k.yield_cpu(thread)
        return
    p = thread.proc
    p.ipc_thread = thread
    thread.blocked |= BLOCK_IPC
    await k.block(thread)
    if p.ipc_error:
        _partner_died(p)


def _post(k: Kernel, thread: Thread, dst_e: int, msg: Message, call: int) -> bool:
    """The half of a send that never waits: True if delivered, False if queued.

    Queued means the sender is now RTS_SENDING on the destination's caller queue;
    CALL_SENDNB raises ENOTREADY instead of queueing.
    """
    p = thread.proc
    dst = _target(k, p, dst_e, call)
    if not isinstance(msg, Message):
        _check_message(msg)
    msg.m_source = p.endpoint
    if k.tracer is not None:
        k.tracer.event("send", p, dst=dst.endpoint, to=dst.name, mtype=msg.mtype, call=call)
    # will_receive() inlined: this is every send.
    if dst.rts & (RTS_RECEIVING | RTS_SENDING) == RTS_RECEIVING and (
        dst.getfrom == ANY or dst.getfrom == p.endpoint
    ):
        deliver(k, dst, msg, call)
        return True
    if call == CALL_SENDNB:
        raise KernelError(errors.ENOTREADY, f"{dst.name} is not receiving")
    if dst is p or deadlock(k, CALL_SEND, p, dst.endpoint):
        raise KernelError(errors.ELOCKED, f"send to {dst.name} would deadlock")
    _check_one_blocker(p)
    p.sendmsg = msg
    p.sendto = dst.endpoint
    p.rts |= RTS_SENDING
    dst.caller_q.append(p)
    return False


def _take_notify(k: Kernel, p: Proc, src_e: int) -> Message | None:
    bits = p.notify_pending
    if src_e == ANY:
        low = bits & -bits
        if k.policy.choosy and low != bits:
            candidates = [i for i in range(bits.bit_length()) if bits >> i & 1]
            bit = (
                1
                << candidates[k.policy.choose([_prio(k.proc_at(i - NR_TASKS)) for i in candidates])]
            )
        else:
            bit = low
    else:
        src = k.find(src_e)
        if src is None:
            return None
        bit = bits & (1 << (src.slot + NR_TASKS))
    if not bit:
        return None
    p.notify_pending &= ~bit
    src = k.proc_at(bit.bit_length() - 1 - NR_TASKS)
    assert src is not None
    m = Notify(k.clock())
    stamp(m, src.endpoint)
    if src.slot == HARDWARE:
        m.interrupts, p.irq_pending = p.irq_pending, 0
    elif src.slot == SYSTEM:
        m.signals, p.ksigs = p.ksigs, 0
    return m


def _take_async(k: Kernel, p: Proc, src_e: int) -> Message | None:
    bits = p.asyn_pending
    slots = [i - NR_TASKS for i in range(bits.bit_length()) if bits >> i & 1]
    if src_e != ANY:
        src = k.find(src_e)
        slots = [src.slot] if src is not None and src.slot in slots else []
    if len(slots) > 1 and k.policy.choosy:
        i = k.policy.choose([_prio(k.proc_at(s)) for s in slots])
        slots = slots[i:] + slots[:i]
    for slot in slots:
        sender = k.proc_at(slot)
        assert sender is not None
        msg = _try_one(k, p, sender)
        if msg is not None:
            return msg
    return None


def _try_one(k: Kernel, p: Proc, sender: Proc) -> Message | None:
    """Deliver at most one of ``sender``'s queued messages for ``p``."""
    found: AsyncEntry | None = None
    more = False
    for entry in sender.asyn_queue:
        assert isinstance(entry, AsyncEntry)
        if entry.dst != p.endpoint or entry.done:
            continue
        if found is None and not (entry.flags & AMF_NOREPLY and p.misc & MF_REPLY_PEND):
            found = entry
        else:
            more = True
    if not more:
        p.asyn_pending &= ~(1 << (sender.slot + NR_TASKS))
    if found is None:
        return None
    sender.asyn_queue.remove(found)
    found.done = True
    if found.flags & AMF_NOTIFY:
        _asyncm_notify(k, sender)
    p.ipc_status = CALL_SENDA
    return found.msg


def _asyncm_notify(k: Kernel, sender: Proc) -> None:
    asyncm = k.proc_at(ASYNCM)
    assert asyncm is not None
    notify_from(k, asyncm, sender)


def _prio(p: Proc | None) -> float:
    if p is None or not p.threads:
        return 0.0
    return p.threads[0].prio


def _take_caller(k: Kernel, p: Proc, src_e: int) -> Message | None:
    """The message of the first (or the policy's) queued sender ``src_e``; q is not empty."""
    q = p.caller_q
    if src_e == ANY:
        if len(q) > 1 and k.policy.choosy:
            i = k.policy.choose([_prio(s) for s in q])
            sender = q[i]
            del q[i]
        else:
            sender = q.popleft()
    else:
        for sender in q:
            if sender.endpoint == src_e:
                q.remove(sender)
                break
        else:
            return None
    msg = sender.sendmsg
    assert msg is not None
    sender.sendmsg = None
    sender.rts &= ~RTS_SENDING
    p.ipc_status = CALL_SENDREC if sender.misc & MF_REPLY_PEND else CALL_SEND
    if sender.misc & MF_SENDING_FROM_KERNEL:
        sender.misc &= ~MF_SENDING_FROM_KERNEL
        p.ipc_status |= FROM_KERNEL
    if not sender.rts & RTS_RECEIVING and sender.ipc_thread is not None:
        thread, sender.ipc_thread = sender.ipc_thread, None
        k.wake(thread, BLOCK_IPC)
    return msg


async def receive(
    k: Kernel,
    thread: Thread,
    src_e: int,
    *,
    nonblock: bool = False,
    trap: int = CALL_RECEIVE,
    resolved: bool = False,
) -> Message:
    """Receive a message from ``src_e`` (or ANY), blocking until one comes.

    ``trap`` is the primitive the caller used (CALL_SENDREC for the receive half).
    """
    p = thread.proc
    if not p.priv.trap_mask & (1 << trap):  # _check_trap() inlined
        raise KernelError(errors.ETRAPDENIED, f"{p.name} may not use IPC call {trap}")
    if src_e != ANY and not resolved:
        src_e = k.resolve(p, src_e).endpoint
    if not p.rts & RTS_SENDING:
        msg = None
        if p.notify_pending and not p.misc & MF_REPLY_PEND:
            msg = _take_notify(k, p, src_e)
            if msg is not None:
                p.ipc_status = CALL_NOTIFY
        if msg is None and p.asyn_pending:
            msg = _take_async(k, p, src_e)
        if msg is None and p.caller_q:
            msg = _take_caller(k, p, src_e)
        if msg is not None:
            p.misc &= ~MF_REPLY_PEND
            if k.tracer is not None:
                k.tracer.event("deliver", p, src=msg.m_source, mtype=msg.mtype)
            await k.yield_cpu(thread)
            return msg
        if nonblock:
            raise KernelError(errors.ENOTREADY, "no message pending")
        if src_e == p.endpoint or (src_e != ANY and deadlock(k, CALL_RECEIVE, p, src_e)):
            raise KernelError(errors.ELOCKED, "receive would deadlock")
        if p.ipc_thread is not None:
            _check_one_blocker(p)
    p.getfrom = src_e
    p.rts |= RTS_RECEIVING
    # Block until a sender (or a dying partner) wakes us. Kernel.block() inlined, with
    # no coroutine of its own: this is half of every round trip.
    p.ipc_thread = thread
    thread.blocked |= BLOCK_IPC
    k._dispatch()
    try:
        await thread.parker.park()
    except BaseException:
        k.abandon_cpu(thread)
        raise
    if p.ipc_error:
        _partner_died(p)
    msg = p.delivered
    assert msg is not None
    p.delivered = None
    return msg


def sendrec(k: Kernel, thread: Thread, dst_e: int, msg: Message) -> Awaitable[Message]:
    """Send ``msg`` to ``dst_e``; await the result for its reply.

    Notifications cannot interrupt the wait. The send half is done at the call and
    never waits: the message is delivered or queued, and the caller goes on to the
    receive half without a choice point. The result is that receive itself, not a
    coroutine around it: one frame less to resume when the reply wakes the caller, on
    every system call.
    """
    p = thread.proc
    p.misc |= MF_REPLY_PEND
    try:
        _post(k, thread, dst_e, msg, CALL_SENDREC)
    except BaseException:
        p.misc &= ~MF_REPLY_PEND
        raise
    # _post() resolved dst_e (SELF is refused there), so the receive half need not.
    return receive(k, thread, dst_e, trap=CALL_SENDREC, resolved=True)


async def notify(k: Kernel, thread: Thread, dst_e: int) -> None:
    """Notify ``dst_e``: never blocks; coalesces with pending notifications from the caller."""
    p = thread.proc
    dst = _target(k, p, dst_e, CALL_NOTIFY)
    if k.tracer is not None:
        k.tracer.event("notify", p, dst=dst.endpoint, to=dst.name)
    notify_from(k, p, dst)
    await k.yield_cpu(thread)


def notify_from(k: Kernel, src: Proc, dst: Proc) -> None:
    """Deliver or mark pending a notification from ``src`` (a process or kernel task)."""
    dst.notify_pending |= 1 << (src.slot + NR_TASKS)
    if will_receive(dst, src.endpoint) and not dst.misc & MF_REPLY_PEND:
        msg = _take_notify(k, dst, src.endpoint)
        assert msg is not None
        deliver(k, dst, msg, CALL_NOTIFY)


def raise_irq(k: Kernel, dst: Proc, irq: int) -> None:
    """Hardware interrupt ``irq`` for driver ``dst``."""
    dst.irq_pending |= 1 << irq
    hw = k.proc_at(HARDWARE)
    assert hw is not None
    notify_from(k, hw, dst)


async def senda(k: Kernel, thread: Thread, dst_e: int, msg: Message, flags: int = 0) -> AsyncEntry:
    """Send ``msg`` asynchronously: never blocks; returns the entry that records the outcome."""
    p = thread.proc
    if not p.priv.sys_proc:
        raise KernelError(_errno.EPERM, "only system processes may send asynchronously")
    dst = _target(k, p, dst_e, CALL_SENDA)
    if not isinstance(msg, Message):
        _check_message(msg)
    if flags & ~_AMF_ALL:
        raise KernelError(_errno.EINVAL, f"bad asynchronous-message flags {flags:#x}")
    msg.m_source = p.endpoint
    entry = AsyncEntry(dst.endpoint, msg, flags)
    if k.tracer is not None:
        k.tracer.event("senda", p, dst=dst.endpoint, to=dst.name, mtype=msg.mtype)
    # will_receive() inlined: VFS and drivers answer with senda.
    if (
        dst.rts & (RTS_RECEIVING | RTS_SENDING) == RTS_RECEIVING
        and (dst.getfrom == ANY or dst.getfrom == p.endpoint)
        and not (flags & AMF_NOREPLY and dst.misc & MF_REPLY_PEND)
    ):
        entry.done = True
        deliver(k, dst, msg, CALL_SENDA)
        if flags & AMF_NOTIFY:
            _asyncm_notify(k, p)
    else:
        if len(p.asyn_queue) >= SENDA_LIMIT:
            raise KernelError(_errno.EDOM, "too many pending asynchronous messages")
        p.asyn_queue.append(entry)
        dst.asyn_pending |= 1 << (p.slot + NR_TASKS)
    await k.yield_cpu(thread)
    return entry


def reset(k: Kernel, p: Proc) -> None:
    """Forget ``p``'s own IPC state (exec): it is no longer sending or receiving."""
    if p.rts & RTS_SENDING:
        target = k.find(p.sendto)
        if target is not None and p in target.caller_q:
            target.caller_q.remove(p)
    p.rts &= ~(RTS_SENDING | RTS_RECEIVING)
    p.misc &= ~(MF_REPLY_PEND | MF_SENDING_FROM_KERNEL)
    p.sendmsg = p.delivered = None
    p.ipc_thread = None
    p.ipc_error = 0


def clear_endpoint(k: Kernel, p: Proc) -> None:
    """Undo ``p``'s IPC presence after its death (MINIX's ``clear_endpoint``)."""
    bit = 1 << (p.slot + NR_TASKS)
    reset(k, p)
    for entry in p.asyn_queue:
        assert isinstance(entry, AsyncEntry)
        entry.done, entry.result = True, errors.EDEADSRCDST
    p.asyn_queue.clear()
    for q in k.procs():
        if q is p:
            continue
        q.notify_pending &= ~bit
        q.asyn_pending &= ~bit
        if q.asyn_queue:
            _cancel_async(k, q, p)
        blocked = (q.rts & RTS_SENDING and q.sendto == p.endpoint) or (
            q.rts & RTS_RECEIVING and q.getfrom == p.endpoint and not q.rts & RTS_SENDING
        )
        if blocked:
            q.rts &= ~(RTS_SENDING | RTS_RECEIVING)
            q.misc &= ~MF_REPLY_PEND
            q.sendmsg = None
            q.ipc_error = errors.EDEADSRCDST
            if q.ipc_thread is not None:
                thread, q.ipc_thread = q.ipc_thread, None
                k.wake(thread, BLOCK_IPC)
    p.caller_q.clear()
    k.vmrequests[:] = [r for r in k.vmrequests if r.caller.proc is not p and r.target is not p]


def _cancel_async(k: Kernel, sender: Proc, dead: Proc) -> None:
    failed = [e for e in sender.asyn_queue if isinstance(e, AsyncEntry) and e.dst == dead.endpoint]
    for entry in failed:
        sender.asyn_queue.remove(entry)
        entry.done, entry.result = True, errors.EDEADSRCDST
    if any(e.flags & (AMF_NOTIFY | AMF_NOTIFY_ERR) for e in failed):
        asyncm = k.proc_at(ASYNCM)
        assert asyncm is not None
        notify_from(k, asyncm, sender)
