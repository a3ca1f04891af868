"""Messages: the only thing processes exchange besides granted memory.

A message type is a slotted dataclass deriving from :class:`Message`. Its fields are
small scalars (ints, bools, short strings, tuples of ints) standing in for MINIX's
fixed 64-byte message: bulk data never rides in a message, it crosses address spaces
through grants and kernel copies. The kernel stamps ``m_source`` with the sender's
endpoint on every send, so a receiver can trust it.

A message is handed over by reference, not copied; a sender must not change a message
after sending it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from kernel.endpoint import NONE

# IPC status call kinds, as MINIX records them for the receiver.
CALL_SEND: Final = 1
CALL_RECEIVE: Final = 2
CALL_SENDREC: Final = 3
CALL_NOTIFY: Final = 4
CALL_SENDNB: Final = 5
CALL_SENDA: Final = 16
FROM_KERNEL: Final = 0x100
"""Status flag: the kernel sent this message on the sender's behalf (a page fault)."""


class Message:
    """Base of every message type.

    Subclasses are ``@dataclass(slots=True)`` classes; ``m_source`` is set by the
    kernel at send time.
    """

    __slots__ = ("m_source",)
    m_source: int
    mtype: ClassVar[str] = "message"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.mtype = cls.__name__


@dataclass(slots=True)
class Notify(Message):
    """A notification (MINIX's NOTIFY_MESSAGE).

    ``m_source`` is the notifier. From HARDWARE, ``interrupts`` holds the pending IRQ
    bits; from SYSTEM, ``signals`` holds the pending kernel signals (a bit per signal
    number). ``timestamp`` is the kernel clock when it was received.
    """

    timestamp: float = 0.0
    interrupts: int = 0
    signals: int = 0


@dataclass(slots=True)
class Reply(Message):
    """A generic reply carrying only a status (0 or a positive errno)."""

    status: int = 0


def stamp(msg: Message, source: int) -> None:
    """Set ``msg``'s sender: for messages the kernel builds on someone's behalf."""
    msg.m_source = source


def source_of(m: Message) -> int:
    """The sender of a delivered message, NONE if it was never sent."""
    return getattr(m, "m_source", NONE)
