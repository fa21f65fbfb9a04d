"""Sources: what a run reads, one module per format, and the registry of formats and suffixes.

``base`` (the ``Source`` protocol, ``Extracted``), ``headers`` (header matching and raw frames, for
every format), ``xlsx_file``, ``csv_file``, ``json_batch``, ``generated``, and ``registry`` (the
formats, their suffixes, and ``as_source``, the one boundary where a run's input becomes a source).
"""
