"""servers: not built yet (see docs/architecture.md)."""
