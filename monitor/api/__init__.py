"""The authenticated HTTP API (FastAPI), served by `amlmon run` and `amlmon api`."""
