"""Real-part test fixtures: Postgres databases, anvil nodes, deployed tokens."""
