"""HTTP/1.1, just enough for the lesson's page: pure functions over bytes.

No sockets here (h11's "bring your own I/O"): the servers do the IO and call
:func:`parse_request` on what they have received so far.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass

MAX_HEADER_BYTES = 8 * 1024
MAX_BODY_BYTES = 1024 * 1024

REASONS = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 413: "Content Too Large",
           431: "Request Header Fields Too Large", 501: "Not Implemented", 505: "HTTP Version Not Supported"}

METHODS = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH"}


class BadRequest(Exception):
    """A request the server answers with an error status and then closes."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(f"{status} {why}")
        self.status = status
        self.why = why


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    keep_alive: bool


def parse_request(buf: bytes) -> tuple[Request | None, int]:
    """Parse one request from the start of ``buf``.

    Returns:
        ``(request, consumed)`` once a whole request (headers and any body) is
        in ``buf``; ``(None, 0)`` while more bytes are needed.

    Raises:
        BadRequest: 431 for a header block over 8 KiB, 400 for anything malformed (a control
            character in a header value, no Host in HTTP/1.1, two Host headers, ...),
            413 for a body over 1 MiB, 501 for chunked bodies, 505 for HTTP/2+.
    """
    end = buf.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES + 4)
    if end < 0:
        if len(buf) >= MAX_HEADER_BYTES + 4:  # no blank line can still end the head in time (a head of
            # 8,190 bytes split after 8,193 got 431, the same bytes in one piece 200)
            raise BadRequest(431, f"header block over {MAX_HEADER_BYTES} bytes")
        if buf and not buf[:1].isalpha():
            raise BadRequest(400, "request line must start with a method")
        return None, 0
    head = buf[:end]
    if _CONTROL_FAST.search(head.replace(b"\r\n", b"")) and (bad := _CONTROL.search(head)):
        line = head[:bad.start()].count(b"\r\n")
        raise BadRequest(400, f"control character {head[bad.start():bad.end()]!r} in line {line + 1} of the head")
    lines = head.split(b"\r\n")
    method, target, version = _request_line(lines[0])
    headers = tuple(_header(line) for line in lines[1:])
    _check_host(headers, version)
    size = _body_size(headers)
    if end + 4 + size > len(buf):
        return None, 0
    tokens = {t.strip().lower() for k, v in headers if k == "connection" for t in v.split(",")}
    keep = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    return Request(method, target, version, headers, keep), end + 4 + size


_NOT_VISIBLE = re.compile(rb"[^\x21-\x7e]")


def _request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.split(b" ")
    if len(parts) != 3 or not all(parts):
        raise BadRequest(400, f"malformed request line {line[:80]!r}")
    method, target, version = parts
    if method not in METHODS:
        raise BadRequest(400 if not method.isalpha() else 405, f"unknown method {method[:20]!r}")
    if version not in (b"HTTP/1.0", b"HTTP/1.1"):
        if version.startswith(b"HTTP/") and version[5:6].isdigit() and version[5:6] >= b"2":
            raise BadRequest(505, f"unsupported version {version[:20]!r}")
        raise BadRequest(400, f"malformed version {version[:20]!r}")
    if _NOT_VISIBLE.search(target):
        raise BadRequest(400, "request target has control or non-ASCII bytes")
    return method.decode(), target.decode(), version.decode()


# RFC 9110 5.5: a field value holds visible characters, obs-text, spaces and tabs; NUL, CR and LF in one
# must be rejected (Host: a\0b was answered 200), and so is every other control character (h11 rejects
# them too). One search over the whole head, in C: a control byte other than tab, or a CR or LF that is
# not part of a CRLF line end.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")
_CONTROL_FAST = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # the same, once the CRLFs are gone: 4x faster
_OWS = b" \t"  # the optional whitespace around a value: space and tab only (bytes.strip() also ate \x0b, \x0c)
# RFC 9110 5.6.2: a field name is a token ("Bad(Name)" and "Bad@Name" were accepted)
_TCHAR = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _header(line: bytes) -> tuple[str, str]:
    name, sep, value = line.partition(b":")
    if not sep or not name or name.strip(_TCHAR):
        raise BadRequest(400, f"malformed header line {line[:80]!r}")
    return name.decode("ascii").lower(), value.strip(_OWS).decode("latin-1")


def _check_host(headers: tuple[tuple[str, str], ...], version: str) -> None:
    """RFC 9112 3.2: 400 for an HTTP/1.1 request without Host, and for any request with more than one."""
    hosts = sum(1 for k, _ in headers if k == "host")
    if hosts > 1:
        raise BadRequest(400, f"{hosts} Host headers")
    if not hosts and version == "HTTP/1.1":
        raise BadRequest(400, "an HTTP/1.1 request without a Host header")


def _body_size(headers: tuple[tuple[str, str], ...]) -> int:
    if any(k == "transfer-encoding" for k, _ in headers):
        raise BadRequest(501, "chunked request bodies are not supported")
    sizes = {v for k, v in headers if k == "content-length"}
    if not sizes:
        return 0
    # isascii: str.isdigit() also accepts digits int() refuses, such as "\xb2" (superscript two)
    if len(sizes) > 1 or not next(iter(sizes)).isascii() or not next(iter(sizes)).isdigit():
        raise BadRequest(400, f"bad Content-Length {sorted(sizes)!r}")
    size = int(next(iter(sizes)))
    if size > MAX_BODY_BYTES:
        raise BadRequest(413, f"body of {size} bytes is over {MAX_BODY_BYTES}")
    return size


PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="UTF-8">
    <title>sockscope</title>
</head>
<body>
    <h1>sockscope -- {title}</h1>
</body>
</html>
"""


def page(title: str) -> bytes:
    """The lesson's page, its ``<h1>`` naming the model."""
    return PAGE.format(title=title).encode()


def response(status: int, body: bytes, *, keep_alive: bool, head: bool = False, now: float | None = None) -> bytes:
    """A complete HTTP/1.1 response with a true ``Date`` and a ``Content-Length``."""
    date = email.utils.formatdate(now, usegmt=True)
    lines = [
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}",
        f"Date: {date}",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        "Server: sockscope",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head else body)


def error_response(bad: BadRequest) -> bytes:
    body = f"<h1>{bad.status} {REASONS.get(bad.status, 'Error')}</h1>\n".encode()
    return response(bad.status, body, keep_alive=False)


def lesson_response(title: str) -> bytes:
    """The lesson's fixed response, as written: a stale Date and keep-alive it does not keep."""
    html = page(title).decode().rstrip("\n")
    return """\
HTTP/1.1 200 OK
Date: Mon, 24 Oct 2022 20:04:23 GMT
Content-Type: text/html
Content-Length: {}
Connection: keep-alive
Server: wayne.magedu.com

{}""".format(len(html), html).encode()  # len() of the str, as taught: characters, not bytes
