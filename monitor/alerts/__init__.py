"""Alerts: raised from score runs (raising), triaged to an outcome (lifecycle), counted by
rule (stats), backtested against another rules file (backtest), delivered (notify)."""
