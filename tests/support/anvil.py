"""Real anvil nodes for tests: the package's development-node launcher."""

from monitor.devnode import Anvil, anvil_binary, free_port, run_anvil

__all__ = ["Anvil", "anvil_binary", "free_port", "run_anvil"]
