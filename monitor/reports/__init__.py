"""Investigator reports built from the current address scores (docs/reports.md)."""
