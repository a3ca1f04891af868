"""true: do nothing, successfully (exit status 0; operands are ignored)."""

from __future__ import annotations


async def main(argv: list[str]) -> int:
    """Return 0."""
    return 0
