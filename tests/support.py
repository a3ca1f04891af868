"""Helpers for tests that run simulated processes on a bare kernel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from kernel.message import Message
from kernel.priv import SYSTEM_PRIV, Priv

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.kernel import Kernel
    from kernel.proc import Proc
    from kernel.process import Process


@dataclass(slots=True)
class Ping(Message):
    n: int = 0


class Sim:
    """Spawn processes on a kernel and wait for them to finish, collecting results."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.results: dict[str, Any] = {}
        self.errors: dict[str, BaseException] = {}
        self.log: list[Any] = []
        self._done: dict[str, anyio.Event] = {}

    def spawn(
        self,
        name: str,
        fn: Callable[[Process], Awaitable[Any]],
        *,
        priv: Priv = SYSTEM_PRIV,
        slot: int | None = None,
        sig_mgr: int | None = None,
        catch: bool = True,
    ) -> Proc:
        done = self._done[name] = anyio.Event()

        async def body(p: Process) -> Any:
            try:
                self.results[name] = await fn(p)
            except Exception as exc:
                self.errors[name] = exc
                if not catch:
                    raise
            finally:
                done.set()

        from kernel.endpoint import NONE

        return self.k.spawn(
            name, body, priv=priv, slot=slot, sig_mgr=NONE if sig_mgr is None else sig_mgr
        )

    async def wait(self, *names: str) -> None:
        for name in names:
            await self._done[name].wait()
