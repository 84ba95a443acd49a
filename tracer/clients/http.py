"""The clients' side of the lesson's HTTP, without IO: the one request they send, and where a reply ends.

The servers' side (parsing requests, building replies) is :mod:`servers.protocol`;
this is all a client needs: the scenario clients (:mod:`tracer.clients.toolkit`)
and the load generator (:mod:`tracer.clients.loadgen`) both use it.
"""

from __future__ import annotations

REQUEST = b"GET / HTTP/1.1\r\nHost: sockscope\r\n\r\n"


def reply_size(data: bytes) -> int | None:
    """The whole reply's size once its head is in and has a Content-Length; else None.

    The lesson's own reply separates its lines with bare newlines, so both
    ``\\r\\n\\r\\n`` and ``\\n\\n`` end a head.
    """
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, _ = data.partition(sep)
        if found:
            for line in head.split(b"\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and value.strip().isdigit():
                    return len(head) + len(sep) + int(value)
            return None
    return None

# One request per connection (``ab``'s way): the server closes after answering.
REQUEST_CLOSE = b"GET / HTTP/1.1\r\nHost: sockscope\r\nConnection: close\r\n\r\n"
