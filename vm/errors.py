"""The one exception VM's own code raises to abandon a request with an errno.

Every operation of the VM server is written as plain functions that either succeed or
raise :class:`VmError`; the server loop (:mod:`vm.server`) turns it into the reply
status (or into SIGSEGV for a page fault). Anything else escaping an operation is a
bug in VM: the loop logs it loudly and records it instead of dying.
"""

from __future__ import annotations

import os


class VmError(Exception):
    """A request VM refuses: ``errno`` is the POSIX error to report."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.errno = code
        self.detail = detail

    def __str__(self) -> str:
        text = os.strerror(self.errno)
        return f"{text}: {self.detail}" if self.detail else text
