"""asynix.boot(): options, the boot image, the System front door, tracing, determinism."""

import json

import anyio
import pytest

import asynix
from asynix.bootimage import BOOT_IMAGE, SYS_PROC, USR_PROC
from kernel.com import (
    DS_PROC_NR,
    INIT_PROC_NR,
    PM_PROC_NR,
    ROOT_FS_PROC_NR,
    RS_PROC_NR,
    VFS_PROC_NR,
    VM_PROC_NR,
)
from tests.pm.support import BASE, booted
from userland import libc


def test_boot_image_reads_like_minix_table():
    assert [(e.slot, e.label) for e in BOOT_IMAGE] == [
        (VM_PROC_NR, "vm"),
        (PM_PROC_NR, "pm"),
        (VFS_PROC_NR, "vfs"),
        (ROOT_FS_PROC_NR, "ramfs"),
        (DS_PROC_NR, "ds"),
        (RS_PROC_NR, "rs"),
        (INIT_PROC_NR, "init"),
    ]
    assert [e.flags for e in BOOT_IMAGE] == [SYS_PROC] * 6 + [USR_PROC]
    assert asynix.boot is not None and asynix.System is not None


async def test_boot_starts_vm_pm_and_init(autojump_clock):
    async with booted(memory=8 * 2**20) as system:
        k = system.kernel
        assert k.vm_endpoint == VM_PROC_NR
        services = set(system.bodies["rs"].rs.services)  # the drivers RS started
        assert [(p.slot, p.name) for p in k.procs() if p.name not in services] == [
            (0, "pm"),
            (1, "vfs"),
            (2, "rs"),
            (6, "ds"),
            (8, "vm"),
            (10, "ramfs"),
            (11, "init"),
        ]
        info = await system.meminfo()
        assert info["total_frames"] == 2048
        assert 0 < info["free_frames"] < 2048
        assert info["processes"] == BASE


async def test_boot_rejects_bad_options(autojump_clock):
    with pytest.raises(ValueError):
        async with asynix.boot(policy="lifo"):
            pass
    with pytest.raises(ValueError):
        async with asynix.boot(memory=1000):
            pass


async def test_boot_logs_seed_and_policy(autojump_clock):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        async with booted(seed=7, policy="random"):
            pass
    boot_logs = [e for e in logs if e.get("event") == "booting"]
    assert boot_logs and boot_logs[0]["seed"] == 7 and boot_logs[0]["policy"] == "random"


async def test_trace_is_written_on_shutdown(autojump_clock, tmp_path):
    path = tmp_path / "trace.json"

    async def prog(argv):
        return await libc.getpid()

    async with booted(trace=str(path)) as system:
        await system.wait(await system.spawn(prog))
        assert not path.exists()
    data = json.loads(path.read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    names = {e.get("args", {}).get("name") for e in events if e.get("ph") == "M"}
    assert {"pm", "vm", "init"} <= names


async def run_seeded(policy, seed):
    order = []

    async def prog(argv):
        async def child():
            order.append(("child", await libc.getpid()))
            return 0

        pids = [await libc.fork(child) for _ in range(4)]
        order.append(("forked", len(pids)))
        order.extend([("reaped", (await libc.wait())[0]) for _ in pids])
        return 0

    async with booted(policy=policy, seed=seed) as system:
        # Host requests only while the system is idle: then the run replays exactly.
        pid = await system.spawn(prog)
        await anyio.sleep(1)
        assert await system.wait(pid) == 0
    return order


@pytest.mark.parametrize("policy", ["fifo", "random", "pct"])
async def test_a_run_replays_from_its_seed(autojump_clock, policy):
    first = await run_seeded(policy, 3)
    assert await run_seeded(policy, 3) == first
    assert sorted(e for e in first if e[0] == "reaped") == sorted(
        ("reaped", pid) for kind, pid in first if kind == "child"
    )


async def test_random_seeds_reach_other_interleavings(autojump_clock):
    runs = {tuple(await run_seeded("random", seed)) for seed in range(10)}
    assert len(runs) > 1


async def test_host_requests_fail_cleanly_after_pm_dies(autojump_clock):
    async with asynix.boot() as system:
        system.kernel.kill(system.kernel.lookup(PM_PROC_NR), 9)
        await anyio.sleep(1)

        async def prog(argv):
            return 0

        with pytest.raises(RuntimeError):
            await system.spawn(prog)
