"""env: print the environment, or run a command in a modified one.

::

    env [-i] [-u NAME]... [NAME=VALUE]... [COMMAND [ARG]...]

``-i`` (or a lone ``-``) starts from an empty environment; ``-u NAME`` removes NAME;
each ``NAME=VALUE`` sets one. Without COMMAND the resulting environment is printed,
one ``NAME=VALUE`` per line. With it, COMMAND is run by
:func:`userland.execvp.execvpe`, which looks it up in the new environment's ``PATH``
(``/bin:/sbin`` if it has none) and runs a file that is no program as a shell
script: ``env`` becomes the command. Exit status 127
when COMMAND is not found, 126 when it is found but cannot be run, 2 on a usage
error, 1 when the environment cannot be printed.
"""

from __future__ import annotations

import errno
from typing import Final

from userland import libc
from userland.bin._common import usage
from userland.execvp import execvpe
from userland.libc import stdio

_SYNOPSIS: Final = "env [-i] [-u name]... [name=value]... [utility [argument...]]"
NOT_FOUND: Final = 127
CANNOT_RUN: Final = 126


async def _options(args: list[str], env: dict[str, str]) -> int | list[str]:
    """Apply the options to ``env``; the rest of the arguments, or a usage status."""
    while args and args[0].startswith("-"):
        arg, args = args[0], args[1:]
        if arg == "--":
            break
        if arg in ("-", "-i"):
            env.clear()
        elif arg.startswith("-u"):
            name = arg[2:]
            if not name:
                if not args:
                    return await usage("env", _SYNOPSIS, "option requires an argument -- u")
                name, args = args[0], args[1:]
            env.pop(name, None)
        else:
            return await usage("env", _SYNOPSIS, f"invalid option -- {arg[1:2]}")
    return args


async def main(argv: list[str]) -> int:
    """Print or modify the environment and run the command (see the module docstring)."""
    env = libc.getenviron()
    rest = await _options(argv[1:], env)
    if isinstance(rest, int):
        return rest
    while rest and "=" in rest[0] and not rest[0].startswith("="):
        name, _, value = rest[0].partition("=")
        env[name] = value
        rest = rest[1:]
    if not rest:
        try:
            await stdio.write_all(
                stdio.STDOUT_FILENO, "".join(f"{k}={v}\n" for k, v in env.items())
            )
        except OSError as exc:
            await stdio.error("env", f"write error: {stdio.strerror(exc)}")
            return 1
        return 0
    failure = await execvpe(rest, env)
    await stdio.error("env", f"{rest[0]}: {stdio.strerror(failure)}")
    return NOT_FOUND if failure.errno == errno.ENOENT else CANNOT_RUN
