"""Random fork/exit/wait trees against a model, under every scheduling policy.

Each node of a drawn tree is a process: it forks its children (each runs its own
subtree), waits for them or leaves them to init, then exits with its code or dies of
a signal. The model says what every wait must return; at the end every process must
be gone (init reaped the orphans), every frame back, and no server may have hit a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

import asynix
from servers.pm.protocol import w_exitcode, w_termsig
from tests.pm.support import BASE
from userland import libc


@dataclass
class Node:
    code: int
    wait: bool
    any_order: bool
    die: int | None
    children: list[Node] = field(default_factory=list)


def _nodes(children: st.SearchStrategy[list[Node]]) -> st.SearchStrategy[Node]:
    return st.builds(
        Node,
        code=st.integers(0, 255),
        wait=st.booleans(),
        any_order=st.booleans(),
        die=st.sampled_from([None, None, libc.SIGTERM, libc.SIGUSR1]),
        children=children,
    )


trees = st.recursive(
    _nodes(st.just([])), lambda kids: _nodes(st.lists(kids, max_size=3)), max_leaves=10
)


def expected_status(node: Node) -> int:
    return w_termsig(node.die) if node.die else w_exitcode(node.code)


def program(node: Node, path: tuple[int, ...], results: dict):
    async def run() -> int:
        pids = [
            await libc.fork(program(c, (*path, i), results)) for i, c in enumerate(node.children)
        ]
        if node.wait:
            got = {}
            for pid in pids:
                p, status = await libc.waitpid(-1 if node.any_order else pid, 0)
                got[p] = status
            results[path] = [got[p] for p in pids]
        if node.die:
            await libc.raise_signal(node.die)
        return node.code

    return run


def walk(node: Node, path=()):
    yield path, node
    for i, child in enumerate(node.children):
        yield from walk(child, (*path, i))


async def scenario(tree: Node, policy: str, seed: int) -> None:
    results: dict = {}
    async with asynix.boot(policy=policy, seed=seed) as system:
        await anyio.sleep(1)
        before = await system.meminfo()
        main = program(tree, (), results)

        async def root(argv):
            return await main()

        code = await system.wait(await system.spawn(root))
        await anyio.sleep(1)
        after = await system.meminfo()
        assert system.bugs == []
    assert code == (-tree.die if tree.die else tree.code)
    for path, node in walk(tree):
        if node.wait:
            assert results[path] == [expected_status(c) for c in node.children], path
        else:
            assert path not in results
    assert after["processes"] == before["processes"] == BASE
    assert after["free_frames"] == before["free_frames"]


@settings(max_examples=40, deadline=None)
@given(tree=trees, policy=st.sampled_from(["fifo", "random", "pct"]), seed=st.integers(0, 2**16))
def test_fork_exit_wait_trees_match_the_model(tree, policy, seed):
    trio.run(scenario, tree, policy, seed, clock=trio.testing.MockClock(autojump_threshold=0))
