"""Scheduling policies: who goes next at every choice point.

The kernel asks its policy whenever more than one thread could run, or more than one
queued sender, message or waiter could go next. Three policies:

- :class:`FifoPolicy` (the default): a running thread keeps the CPU until it blocks;
  ready threads and queued senders go in arrival order. Deterministic.
- :class:`RandomPolicy`: every choice uniformly at random from a seeded generator,
  including whether the running thread keeps the CPU, so one process can take several
  steps in a row while another is runnable.
- :class:`PctPolicy`: probabilistic concurrency testing (Burckhardt et al., 2010).
  Each thread gets a random priority; the highest-priority runnable thread runs; at
  ``depth - 1`` randomly chosen steps the running thread's priority drops below all
  initial ones. A bug of depth ``d`` is found with probability at least
  ``1 / (n * k ** (d - 1))`` per run.

With one seed and the same inputs, a run makes the same choices every time.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kernel.proc import Thread


class Policy:
    """Base policy: FIFO everywhere."""

    name = "fifo"
    choosy = False
    """Whether :meth:`choose` can return anything but 0 (FIFO never does)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.steps = 0

    def on_new_thread(self, thread: Thread) -> None:
        """A thread was created (PCT gives it a priority)."""

    def keep(self, current: Thread, ready: list[Thread]) -> bool:
        """At a choice point: may the running thread go on (``ready`` is non-empty)?"""
        return True

    def pick(self, ready: list[Thread]) -> int:
        """Index into the non-empty ``ready`` list of the thread to run next."""
        return 0

    def choose(self, prios: Sequence[float]) -> int:
        """Index of the candidate (sender, waiter) to serve next.

        Candidates come in FIFO order; ``prios`` holds each one's priority (PCT uses it).
        """
        return 0


FifoPolicy = Policy


class RandomPolicy(Policy):
    """Uniformly random choices from a seeded generator."""

    name = "random"
    choosy = True

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._rng = random.Random(seed)

    def keep(self, current: Thread, ready: list[Thread]) -> bool:
        """Keep the CPU with probability 1/(ready+1)."""
        return self._rng.randrange(len(ready) + 1) == 0

    def pick(self, ready: list[Thread]) -> int:
        """Any ready thread, uniformly."""
        return self._rng.randrange(len(ready))

    def choose(self, prios: Sequence[float]) -> int:
        """Any candidate, uniformly."""
        return self._rng.randrange(len(prios))


class PctPolicy(Policy):
    """Probabilistic concurrency testing with ``depth - 1`` priority change points."""

    name = "pct"
    choosy = True

    def __init__(self, seed: int = 0, depth: int = 3, steps: int = 2000) -> None:
        super().__init__(seed)
        self._rng = random.Random(seed)
        self.depth = depth
        self._changes = {self._rng.randrange(1, steps + 1): i for i in range(1, depth)}
        self._current: Thread | None = None

    def on_new_thread(self, thread: Thread) -> None:
        """Give the thread a random priority above every change-point priority."""
        thread.prio = self.depth + self._rng.random()

    def _step(self, current: Thread) -> None:
        self.steps += 1
        low = self._changes.get(self.steps)
        if low is not None:
            current.prio = low * 1e-3

    def keep(self, current: Thread, ready: list[Thread]) -> bool:
        """Count a step (maybe a change point); keep the CPU if still the highest priority."""
        self._step(current)
        top = max(t.prio for t in ready)
        return current.prio >= top

    def pick(self, ready: list[Thread]) -> int:
        """The highest-priority ready thread."""
        best = 0
        for i, t in enumerate(ready):
            if t.prio > ready[best].prio:
                best = i
        return best

    def choose(self, prios: Sequence[float]) -> int:
        """The highest-priority candidate."""
        return max(range(len(prios)), key=prios.__getitem__)


def make_policy(name: str, seed: int) -> Policy:
    """The policy called ``name`` ("fifo", "random" or "pct"), seeded with ``seed``."""
    policies: dict[str, type[Policy]] = {"fifo": Policy, "random": RandomPolicy, "pct": PctPolicy}
    try:
        return policies[name](seed)
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose fifo, random or pct") from None
