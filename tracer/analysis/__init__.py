"""What a recording means: the connection lifecycle table (``lifecycle``), the statistics
(``stats``) and the lifecycle check (``check``).  Plain Python over :mod:`tracer.recording.model`."""
