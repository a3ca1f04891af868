"""vfs: the virtual file system server (MINIX's ``servers/vfs``).

Its entry point is :func:`vfs.main.make_vfs` (or :data:`vfs.main.main` with the defaults),
spawned at ``VFS_PROC_NR`` with ``Priv(magic_grants=True)``. User programs speak
:mod:`vfs.protocol`; see ``docs/vfs.md`` for the dispatcher, the workers, the locks and
pipes.
"""
