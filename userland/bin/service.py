"""service: control the system services RS runs (MINIX's ``service``).

::

    service up|down|restart|refresh|update LABEL...
    service lookup LABEL...

``up`` starts a stopped service from RS's table, ``down`` stops one for good,
``restart`` kills and restarts it (it takes back the state it saved in DS),
``refresh`` restarts it afresh, ``update`` live-updates it (a new instance takes over
the old one's state). ``lookup`` prints ``LABEL ENDPOINT`` for a running service.
Changing services takes root (``service: hello: Operation not permitted``
otherwise); lookup is open to all. RS cannot list its table, so there is no
``service list``. Unlike MINIX's, ``up`` takes a label from RS's table, not a program
path with options. Each LABEL that fails is reported (``service: nosuch: No such
process``) and makes the status 1; 2 on a usage error.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import usage
from userland.libc import stdio

_ACTIONS: Final = ("up", "down", "restart", "refresh", "update", "lookup")
_SYNOPSIS: Final = "service up|down|restart|refresh|update|lookup label..."


async def main(argv: list[str]) -> int:
    """Apply the action to every label; 0, 1 if any failed, 2 on a usage error."""
    if len(argv) < 2:
        return await usage("service", _SYNOPSIS, "missing action")
    action, labels = argv[1], argv[2:]
    if action not in _ACTIONS:
        return await usage("service", _SYNOPSIS, f"{action}: unknown action")
    if not labels:
        return await usage("service", _SYNOPSIS, "missing label")
    status = 0
    for label in labels:
        try:
            endpoint = await libc.service(action, label)
            if action == "lookup":
                await stdio.puts(f"{label} {endpoint}")
        except OSError as exc:
            await stdio.error("service", f"{label}: {stdio.strerror(exc)}")
            status = 1
    return status
