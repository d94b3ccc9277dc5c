"""Bridges between chains: the registry of bridge contracts (registry), the protocols'
ids and events (protocols), and the linkage of a message's two sides (linking).

docs/bridges.md describes the protocols, the endpoint ids and what is matched and how.
"""
