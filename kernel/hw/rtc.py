"""The machine's real-time clock (the CMOS RTC): the date the kernel reads once, at boot.

MINIX reads the RTC at boot into ``boottime`` (whole seconds since the Unix epoch) and
from then on counts time as uptime on the kernel clock; the time of day is ``boottime +
uptime``. Here the RTC shows :data:`EPOCH` (2026-01-01 00:00:00 UTC) when the machine runs
on virtual time (trio's ``MockClock``: tests, the fuzzer), so that runs replay exactly,
and the host's wall clock when it runs on real time (an interactive ``asynix``).
"""

from __future__ import annotations

import math
import time
from typing import Final

__all__ = ["EPOCH", "read_rtc"]

EPOCH: Final = 1_767_225_600
"""What the RTC shows on virtual time: 2026-01-01 00:00:00 UTC, in Unix seconds."""


def read_rtc(*, virtual: bool) -> int:
    """The RTC's reading in whole Unix seconds (its resolution, as MINIX's ``time_t``).

    Args:
        virtual: the machine runs on virtual time: the RTC shows :data:`EPOCH`; otherwise
            it shows the host's wall clock.
    """
    return EPOCH if virtual else math.floor(time.time())
