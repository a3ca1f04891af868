"""servers/rs: not built yet (see docs/architecture.md)."""
