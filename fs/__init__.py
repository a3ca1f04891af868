"""fs: file servers and the library they are written with (MINIX's ``fs/``, libfsdriver).

:mod:`fs.protocol` is the VFS <-> file-server protocol, :mod:`fs.lib` the library
(subclass :class:`fs.lib.FileSystem`, run :func:`fs.lib.serve`), :mod:`fs.ramfs` the
in-memory root file system (entry point :func:`fs.ramfs.main`, spawned at
``ROOT_FS_PROC_NR``).
"""
