"""Demo data apart from the production stages: NVCD-shaped events generated, and replayed as live runs.

Imports the pipeline's columns and runner and ``reference``; no production stage imports this.
"""
