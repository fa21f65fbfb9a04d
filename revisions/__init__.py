"""Reading what the pipeline changed: the changes feed, an event by its public id and its revisions.

Select builders, the feed's cursor and the JSON-ready shapes shared by the API (``api.changes``,
``api.event``) and the event page (``dashapp.pages.event``); no Flask, no Dash. The rows are
``models.EventChange``, written by the loader one run at a time.
"""
