"""Programs: what ``/bin`` holds, and how PM starts them (the runtime boot gives PM).

A program is ``async def main(argv: list[str]) -> int`` that uses only libc. Its file
in ``/bin`` holds one line naming its Python entry point::

    #!asynix userland.bin.echo:main

:func:`register` puts a program in the registry; boot writes every registered
``/bin/*`` and ``/sbin/*`` program into the root file system (:mod:`asynix.rootfs`).
exec reads the file through VFS and :func:`resolve` imports the entry point it names
(a system booted without VFS falls back on the registry itself).

:data:`RUNTIME` is the object boot hands PM (:class:`servers.pm.execve.Runtime`).
"""

from __future__ import annotations

import errno
import importlib
import os
import posixpath
from typing import TYPE_CHECKING, Final

from servers.pm.execve import Program
from userland.libc import crt0

if TYPE_CHECKING:
    from kernel.kernel import ProcMain
    from servers.pm.execve import ProgramMain

MAGIC: Final = b"#!asynix "
_REGISTRY: dict[str, ProgramMain] = {}
_LOADED: dict[bytes, ProgramMain] = {}
"""Registered entry points by file contents: how :func:`resolve` finds one that cannot
be imported by name (a coroutine function defined inside another function)."""


def _key(path: str) -> str:
    if not path.startswith("/"):
        raise OSError(errno.ENOENT, f"{path}: not an absolute path")
    return posixpath.normpath(path)


def register(path: str, main: ProgramMain) -> None:
    """Install ``main`` as the program at absolute ``path`` (replacing any)."""
    _REGISTRY[_key(path)] = main
    _LOADED[contents(main)] = main


def unregister(path: str) -> None:
    """Remove the program at ``path`` (if any)."""
    main = _REGISTRY.pop(_key(path), None)
    if main is not None and _LOADED.get(contents(main)) is main:
        del _LOADED[contents(main)]


def installed() -> dict[str, ProgramMain]:
    """Every registered program by path (what boot writes into the root file system)."""
    return dict(_REGISTRY)


def contents(main: ProgramMain) -> bytes:
    """The file contents naming ``main``: ``#!asynix module:qualname``."""
    return MAGIC + f"{main.__module__}:{main.__qualname__}\n".encode()


def resolve(text: bytes) -> ProgramMain:
    """The entry point a program file names.

    Raises:
        OSError: ENOEXEC when the file is not an asynix program or names nothing.
    """
    line = text.split(b"\n", 1)[0]
    known = _LOADED.get(line + b"\n")
    if known is not None:
        return known
    if not line.startswith(MAGIC):
        raise OSError(errno.ENOEXEC, "not an asynix program")
    module, _, qualname = line[len(MAGIC) :].decode(errors="replace").strip().partition(":")
    try:
        obj: object = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        raise OSError(errno.ENOEXEC, f"no entry point {module}:{qualname}") from None
    if not callable(obj):
        raise OSError(errno.ENOEXEC, f"{module}:{qualname} is not callable")
    return obj


class Runtime:
    """PM's view of userland: find programs, make process bodies."""

    def load(self, path: str) -> Program:
        """The program at ``path`` in the registry (a system booted without VFS)."""
        main = _REGISTRY.get(_key(path))
        if main is None:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
        return Program(contents(main), main)

    def from_file(self, text: bytes) -> Program:
        """The program whose file (read through VFS) holds ``text``."""
        return Program(text, resolve(text))

    def program(self, main: ProgramMain) -> Program:
        """The program whose entry point is ``main``."""
        return Program(contents(main), main)

    def image(self, main: ProgramMain, sp: int) -> ProcMain:
        """Libc's ``_start`` for ``main`` with the argument frame at ``sp``."""
        return crt0.image(main, sp)


RUNTIME: Final = Runtime()


def register_commands() -> None:
    """Install every command module of :mod:`userland.bin` at ``/bin/NAME``."""
    import pkgutil

    import userland.bin

    for info in pkgutil.iter_modules(userland.bin.__path__):
        module = importlib.import_module(f"userland.bin.{info.name}")
        main = getattr(module, "main", None)
        if main is None:
            continue
        names = getattr(module, "NAMES", (info.name.rstrip("_"),))
        for name in names:
            register(f"/bin/{name}", main)


def _register_builtin() -> None:
    from userland import getty, init

    register("/sbin/init", init.main)
    register("/sbin/getty", getty.main)
    register_commands()


_register_builtin()
