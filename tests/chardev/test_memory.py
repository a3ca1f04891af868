"""The memory driver: null, zero, full, random, mem, kmem, ram, and bad minors."""

from __future__ import annotations

import errno
import random

from chardev.memory import (
    FULL_MINOR,
    KMEM_MINOR,
    MEM_MINOR,
    NULL_MINOR,
    RAM_MINOR,
    RANDOM_MINOR,
    URANDOM_MINOR,
    ZERO_MINOR,
    Memory,
)
from chardev.protocol import CDEV_NOTIFY, CDEV_OP_RD, CDEV_R_BIT, CDEV_W_BIT, MIOCRAMSIZE
from tests.chardev.support import bench


def _u32(n):
    return n.to_bytes(4, "little")


async def test_null_zero_full(autojump_clock):
    async def script(vfs, rs, k):
        for minor in (NULL_MINOR, ZERO_MINOR, FULL_MINOR):
            assert await vfs.open(minor) == 0
        return [
            await vfs.read(NULL_MINOR, 100),
            await vfs.write(NULL_MINOR, b"x" * 50),
            await vfs.read(ZERO_MINOR, 9000),
            await vfs.write(ZERO_MINOR, b"abc"),
            await vfs.read(FULL_MINOR, 7),
            await vfs.write(FULL_MINOR, b"abc"),
            await vfs.read(ZERO_MINOR, 0),
        ]

    out = (await bench(Memory, script, label="memory"))[0]
    assert out == [
        (0, b""),
        50,
        (9000, bytes(9000)),
        3,
        (7, bytes(7)),
        -errno.ENOSPC,
        (0, b""),
    ]


async def test_random_is_deterministic_per_seed(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(RANDOM_MINOR)
        await vfs.open(URANDOM_MINOR)
        a = await vfs.read(RANDOM_MINOR, 16)
        b = await vfs.read(URANDOM_MINOR, 16)
        return a, b, await vfs.write(RANDOM_MINOR, b"entropy")

    first = (await bench(lambda: Memory(seed=5), script))[0]
    again = (await bench(lambda: Memory(seed=5), script))[0]
    other = (await bench(lambda: Memory(seed=6), script))[0]
    rng = random.Random(5)
    assert first == ((16, rng.randbytes(16)), (16, rng.randbytes(16)), 7)
    assert first == again
    assert other[0] != first[0]


async def test_random_defaults_to_the_kernel_policy_seed(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(URANDOM_MINOR)
        return await vfs.read(URANDOM_MINOR, 8), k.policy.seed

    (status, data), seed = (await bench(Memory, script))[0]
    assert status == 8 and data == random.Random(seed).randbytes(8)


async def test_mem_reads_physical_memory_and_kmem_is_eio(autojump_clock):
    async def script(vfs, rs, k):
        k.physmem.write(0x3000, b"physical!")
        await vfs.open(MEM_MINOR, CDEV_R_BIT)
        await vfs.open(KMEM_MINOR, CDEV_R_BIT)
        size = k.physmem.size
        return [
            await vfs.open(MEM_MINOR, CDEV_R_BIT | CDEV_W_BIT),
            await vfs.read(MEM_MINOR, 9, pos=0x3000),
            await vfs.read(MEM_MINOR, 10, pos=size - 4),
            await vfs.read(MEM_MINOR, 10, pos=size),
            await vfs.write(MEM_MINOR, b"x"),
            await vfs.read(KMEM_MINOR, 4),
            await vfs.write(KMEM_MINOR, b"x"),
        ]

    out = (await bench(Memory, script))[0]
    assert out[0] == -errno.EACCES
    assert out[1] == (9, b"physical!")
    assert out[2][0] == 4
    assert out[3] == (0, b"")
    assert out[4:] == [-errno.EIO, (-errno.EIO, b""), -errno.EIO]


async def test_ram_disk_sized_by_ioctl(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(RAM_MINOR)
        out = [await vfs.read(RAM_MINOR, 4), await vfs.write(RAM_MINOR, b"x")]
        out.append(await vfs.ioctl(RAM_MINOR, MIOCRAMSIZE, _u32(8192)))
        out.append(await vfs.write(RAM_MINOR, b"hello ram", pos=4090))
        out.append(await vfs.read(RAM_MINOR, 9, pos=4090))
        out.append(await vfs.write(RAM_MINOR, b"tail!", pos=8190))  # cut short
        out.append(await vfs.read(RAM_MINOR, 100, pos=8190))
        out.append(await vfs.ioctl(RAM_MINOR, 0x1234, _u32(1)))  # not MIOCRAMSIZE
        out.append(await vfs.ioctl(RAM_MINOR, MIOCRAMSIZE, _u32(1 << 30)))  # too big
        # Open twice: resizing is EBUSY, the same size is fine.
        await vfs.open(RAM_MINOR)
        out.append(await vfs.ioctl(RAM_MINOR, MIOCRAMSIZE, _u32(4096)))
        out.append(await vfs.ioctl(RAM_MINOR, MIOCRAMSIZE, _u32(8192)))
        await vfs.close(RAM_MINOR)
        out.append(await vfs.ioctl(RAM_MINOR, MIOCRAMSIZE, _u32(4096)))
        out.append(await vfs.read(RAM_MINOR, 10, pos=4090))
        return out

    assert (await bench(Memory, script))[0] == [
        (0, b""),
        -errno.ENOSPC,
        0,
        9,
        (9, b"hello ram"),
        2,
        (2, b"ta"),
        -errno.EINVAL,
        -errno.ENOMEM,
        -errno.EBUSY,
        0,
        0,
        (6, bytes(6)),
    ]


async def test_bad_minors_ioctls_and_select(autojump_clock):
    async def script(vfs, rs, k):
        return [
            await vfs.open(4),
            await vfs.open(6),
            await vfs.open(200),
            await vfs.open(NULL_MINOR),
            await vfs.ioctl(NULL_MINOR, MIOCRAMSIZE, _u32(1)),
            await vfs.select(NULL_MINOR, CDEV_OP_RD | CDEV_NOTIFY),
            await vfs.close(NULL_MINOR),
            await vfs.close(NULL_MINOR),  # no open left: EINVAL, as MINIX's
            await vfs.read(NULL_MINOR, 4, pos=-1),
        ]

    assert (await bench(Memory, script))[0] == [
        -errno.ENXIO,
        -errno.ENXIO,
        -errno.ENXIO,
        0,
        -errno.ENOTTY,
        -errno.EBADF,
        0,
        -errno.EINVAL,
        (-errno.EINVAL, b""),
    ]
