"""Labels: what investigators know about addresses, laundering or legitimate.

A label comes from a source: an imported file (`amlmon labels import FILE --source NAME`,
`POST /api/v1/labels`), or a closed alert or case (`alert:ID`, `case:ID`: reported →
laundering, false_positive → legitimate; inconclusive says nothing). A label never flags
an address; rankers (monitor.ranker) train on labels, and the address page shows them.
"""
