"""servers/pm: not built yet (see docs/architecture.md)."""
