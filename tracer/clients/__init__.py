"""The clients sockscope fires at a server: the traced client toolkit (``toolkit``), the named
scenarios (``scenarios``), the client program run as ``python -m tracer.clients`` (``program``) and
the untraced load generator (``loadgen``)."""
