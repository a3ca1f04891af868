"""servers/ds: not built yet (see docs/architecture.md)."""
