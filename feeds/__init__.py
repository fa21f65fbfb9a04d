"""Scheduled feeds: exports fetched over HTTP(S) on a schedule and run through the pipeline when they change.

``feeds.fetch`` fetches one export safely and conditionally; ``feeds.service`` keeps the feeds
(add, list, remove), runs one (``run_feed``) and says which are due (``due_feeds``) for the
worker's scheduler; ``feeds.cli`` is ``python -m pipeline feeds ...``.
"""
