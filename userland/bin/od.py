r"""od: dump files in octal, hexadecimal, decimal or as characters.

The operands (none: standard input) are dumped as one stream, 16 bytes a line, each
line starting with its offset. ``-t TYPE`` picks the format: ``c`` characters
(printable ASCII as itself, ``\0 \a \b \f \n \r \t \v``, others as 3 octal
digits), or ``o``, ``x``, ``u``, ``d`` (octal, hex, unsigned, signed) followed by a
size of 1, 2 or 4 bytes (little-endian; a short last unit is padded with zero bytes).
The default is ``-t o2``; ``-c`` means ``-t c``, ``-x`` means ``-t x2``; when several
are given the last one wins (GNU prints each on its own line). ``-A RADIX`` chooses
the offsets: ``o`` (default, 7 digits), ``d``, ``x`` (6 digits) or ``n`` (none).
A line equal to the one before is shown as ``*`` unless ``-v``. Field widths and
fill (zeros for octal and hex, blanks for decimal) are GNU's.
"""

from __future__ import annotations

from typing import Final

from userland.bin._common import USAGE, getopts, slurp_all, usage
from userland.libc import stdio

PROG: Final = "od"
SYNOPSIS: Final = "od [-cvx] [-A o|d|x|n] [-t c|[doux][124]] [file...]"
WIDTH: Final = 16

_FIELD: Final = {
    ("o", 1): 3,
    ("o", 2): 6,
    ("o", 4): 11,
    ("x", 1): 2,
    ("x", 2): 4,
    ("x", 4): 8,
    ("u", 1): 3,
    ("u", 2): 5,
    ("u", 4): 10,
    ("d", 1): 4,
    ("d", 2): 6,
    ("d", 4): 11,
}
_ADDRESS: Final = {"o": "{:07o}", "d": "{:07d}", "x": "{:06x}", "n": ""}
_CHARS: Final = {0: "\\0", 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def _char(byte: int) -> str:
    if 0x20 <= byte < 0x7F:
        return chr(byte)
    return _CHARS.get(byte, f"{byte:03o}")


def parse_type(spec: str) -> tuple[str, int] | None:
    """``-t`` argument ``spec`` as (letter, size), or None; ``c`` is ``("c", 1)``."""
    if spec == "c":
        return ("c", 1)
    if len(spec) == 1 and spec in "doux":
        spec += "2" if spec in "ox" else "4"
    kind = (spec[:1], int(spec[1:])) if spec[1:].isdigit() else None
    return kind if kind in _FIELD else None


def fields(chunk: bytes, kind: str, size: int) -> str:
    """One line's fields: each a space and the value right-aligned."""
    if kind == "c":
        return "".join(f" {_char(b):>3}" for b in chunk)
    width = _FIELD[(kind, size)]
    chunk += bytes(-len(chunk) % size)
    out: list[str] = []
    for i in range(0, len(chunk), size):
        value = int.from_bytes(chunk[i : i + size], "little", signed=kind == "d")
        if kind in "ox":  # octal and hex are zero-filled, decimal blank-filled
            out.append(f" {value:0{width}{kind}}")
        else:
            out.append(f" {value:>{width}d}")
    return "".join(out)


def dump(data: bytes, kind: str, size: int, radix: str, verbose: bool) -> str:
    """The whole dump of ``data``."""
    address = _ADDRESS[radix]
    lines: list[str] = []
    previous: bytes | None = None
    starred = False
    for at in range(0, len(data), WIDTH):
        chunk = data[at : at + WIDTH]
        if chunk == previous and not verbose:
            if not starred:
                lines.append("*\n")
                starred = True
            continue
        previous, starred = chunk, False
        lines.append(address.format(at) + fields(chunk, kind, size) + "\n")
    if address:
        lines.append(address.format(len(data)) + "\n")
    return "".join(lines)


async def main(argv: list[str]) -> int:
    """Dump the operands; 1 if any could not be read, 2 on bad options."""
    parsed = await getopts(PROG, argv, "cvxA:t:", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    kind, size, radix, verbose = "o", 2, "o", False
    for opt, arg in opts:
        if opt == "-c":
            kind, size = "c", 1
        elif opt == "-x":
            kind, size = "x", 2
        elif opt == "-v":
            verbose = True
        elif opt == "-A":
            if arg not in _ADDRESS:
                return await usage(PROG, SYNOPSIS, f"invalid address radix: {arg}")
            radix = arg
        else:
            found = parse_type(arg)
            if found is None:
                return await usage(PROG, SYNOPSIS, f"invalid type: {arg}")
            kind, size = found
    inputs, status = await slurp_all(PROG, operands)
    data = b"".join(got for _, got in inputs)
    await stdio.write_all(stdio.STDOUT_FILENO, dump(data, kind, size, radix, verbose))
    return status
