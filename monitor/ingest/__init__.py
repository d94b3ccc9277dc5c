"""Ingest: move token events from the chain into the database, exactly once, reorg-safe."""
