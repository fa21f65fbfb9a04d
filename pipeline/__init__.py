"""Ingestion pipeline for NVCD exports: extract, normalise, geocode, validate, dedupe, load, measure.

Stages are small pure functions over pandas DataFrames (never mutating their input);
column names live in ``pipeline.columns``. Nothing here imports Flask or Dash.
"""
