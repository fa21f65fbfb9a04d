"""Reference data: the gazetteer (states, LGAs, wards, places), NVCD's codebook and name forms.

Read from naija-data's public API and the codebook's own tables, cached per process. Imported by
``pipeline`` and ``trends`` alike; imports neither (nor ``models``, Flask or Dash).
"""
