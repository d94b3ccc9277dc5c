"""Alerts raised from score runs: deduplication, triage lifecycle, audit trail, webhooks."""
