"""Report content, split by kind: ``figures`` (matplotlib), ``tables`` (Swedish DataFrames),
``texts`` (Swedish sentences) and ``labels`` (words and the Swedish number format they share).

The notebooks import these modules; the report run machinery lives in ``forecast.reports``.
"""
