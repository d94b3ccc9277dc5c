"""Investigator reports built from the current address scores (DESIGN.md report schema)."""
