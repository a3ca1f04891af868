"""``execvpe``: run a program found along ``PATH``, as C's ``execvp`` does (XSH exec).

The shell (running a command) and ``env`` (running its utility) look a command
up the same way, so they share this. A name holding ``/`` is used as it is;
otherwise each directory of the environment's ``PATH`` is tried in turn (an
empty entry is the working directory). A directory where the name is missing
(ENOENT, ENOTDIR) or may not be run (EACCES) is passed over; a file that is no
program (ENOEXEC) is run as a script by ``/bin/sh``. Built on
:func:`userland.libc.execve` only.
"""

from __future__ import annotations

import errno
from typing import Final

from userland import libc

SHELL_PATH: Final = "/bin/sh"
DEFAULT_PATH: Final = "/bin:/sbin"
"""The search path when the environment has no ``PATH``."""


async def execvpe(argv: list[str], env: dict[str, str]) -> OSError:
    """Replace this process with the program ``argv[0]`` names, run with ``env``.

    Returns only on failure: the error that says most (EACCES when a file was
    found but could not be run, ENOENT when none was found, else what stopped
    the search).
    """
    name = argv[0]
    failure = OSError(errno.ENOENT, "No such file or directory")
    if not name:
        return failure  # "" names no file (execve itself refuses an empty argv[0])
    if "/" in name:
        candidates = [name]
    else:
        candidates = [f"{d or '.'}/{name}" for d in env.get("PATH", DEFAULT_PATH).split(":")]
    for path in candidates:
        try:
            await libc.execve(path, argv, env)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError as exc:
            failure = exc  # found: say so unless another directory has a runnable one
        except OSError as exc:
            if exc.errno != errno.ENOEXEC:
                return exc
            try:
                await libc.execve(SHELL_PATH, ["sh", path, *argv[1:]], env)
            except OSError as again:
                return again
    return failure
