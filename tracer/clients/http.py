"""The clients' side of the lesson's HTTP, without IO: the one request they send, and where a reply ends.

The servers' side (parsing requests, building replies) is :mod:`servers.protocol`;
this is all a client needs: the scenario clients (:mod:`tracer.clients.toolkit`)
and the load generator (:mod:`tracer.clients.loadgen`) both use it.
"""

from __future__ import annotations

from tracer.locale import N_

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

# The hostile requests of the request-parser tests (tests/test_protocol.py), each small and bounded: what a
# server on the open internet meets in its first minute.  (label, bytes): the label names it in a report.
HOSTILE: tuple[tuple[str, bytes], ...] = (
    (N_("a TLS hello on a plain port"), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
    (N_("a request line without a version"), b"GET /\r\n\r\n"),
    (N_("an unknown method"), b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n"),
    (N_("HTTP/2"), b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
    (N_("a header line without a colon"), b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"),
    (N_("a negative Content-Length"), b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
    (N_("a chunked body"), b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    (N_("a 16 KiB header"), b"GET / HTTP/1.1\r\nX: " + b"a" * 16384 + b"\r\n\r\n"),
    (N_("NUL bytes"), b"\x00" * 64),
    (N_("control bytes in the target"), b"GET /\x7f\x01 HTTP/1.1\r\n\r\n"),
)


def reply_status(data: bytes) -> int | None:
    """The status code of a reply's first line (``HTTP/1.1 400 Bad Request`` -> 400), or None."""
    first = data.split(b"\n", 1)[0].split()
    if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit() and len(first[1]) == 3:
        return int(first[1])
    return None
