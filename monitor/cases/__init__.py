"""Investigations: cases that gather alerts, patterns and addresses under one narrative and
close with an outcome a second person approves (service), their HTML report
(monitor.reports.cases), the evidence transfers they cite (evidence) and the goAML
suspicious-transaction report they export as (goaml)."""
