"""The pipeline-status snapshot, built from the database; no Flask, no Dash.

``build_snapshot(session, clients=0, now=None)`` is the one entry point the HTTP
endpoint and the WebSocket broadcaster share.
"""

from status.snapshot import build_snapshot

__all__ = ["build_snapshot"]
