"""false: do nothing, unsuccessfully (exit status 1; operands are ignored)."""

from __future__ import annotations


async def main(argv: list[str]) -> int:
    """Return 1."""
    return 1
