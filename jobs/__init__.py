"""Runs as durable jobs: the queue (huey), the run jobs, the worker (``python -m pipeline worker``)."""
