"""servers/protocol.py: the pure HTTP functions, without sockets (tables of cases, then Hypothesis)."""

from __future__ import annotations

import email.utils
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servers.protocol import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    BadRequest,
    Request,
    error_response,
    page,
    parse_request,
    response,
)

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


# ----------------------------------------------------------------- complete, incomplete, pipelined
@pytest.mark.parametrize(
    ("request_bytes", "after"),
    [
        (GET, b""),
        (b"GET /a?b=c HTTP/1.0\r\n\r\n", b""),
        (b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", b""),
        (b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", b""),
        (b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b""),
        (GET, b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n"),  # pipelined: the first one only
        (GET, b"GE"),  # the next one's start stays in the buffer
        (b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", b"GET"),  # the body ends where it says
    ],
)
def test_complete_request_consumes_exactly_itself(request_bytes: bytes, after: bytes) -> None:
    request, used = parse_request(request_bytes + after)
    assert request is not None
    assert used == len(request_bytes)


def test_pipelined_requests_parse_one_after_another() -> None:
    buf = GET + b"GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    first, used = parse_request(buf)
    second, used2 = parse_request(buf[used:])
    assert first is not None and second is not None
    assert (first.target, first.keep_alive) == ("/", True)
    assert (second.target, second.keep_alive) == ("/two", False)
    assert used + used2 == len(buf)


@pytest.mark.parametrize(
    "buf",
    [
        b"",
        b"G",
        b"GET / HTTP/1.1",
        b"GET / HTTP/1.1\r\nHost: x\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhell",  # the body is not all here yet
        b"x" * MAX_HEADER_BYTES,  # exactly at the limit: still waiting
    ],
)
def test_incomplete_request_waits_for_more(buf: bytes) -> None:
    assert parse_request(buf) == (None, 0)


def test_fields_and_headers() -> None:
    request, _ = parse_request(b"GET /p?q=1 HTTP/1.1\r\nHost:  example \r\nX-Thing: A b\r\n\r\n")
    assert request == Request("GET", "/p?q=1", "HTTP/1.1", (("host", "example"), ("x-thing", "A b")), True)


# ----------------------------------------------------------------- keep-alive rules
@pytest.mark.parametrize(
    ("version", "connection", "keep"),
    [
        ("1.1", None, True),
        ("1.1", "keep-alive", True),
        ("1.1", "close", False),
        ("1.1", "Close", False),
        ("1.1", "Upgrade, close", False),
        ("1.0", None, False),
        ("1.0", "keep-alive", True),
        ("1.0", "Keep-Alive", True),
        ("1.0", "close", False),
    ],
)
def test_keep_alive_rules(version: str, connection: str | None, keep: bool) -> None:
    extra = f"Connection: {connection}\r\n" if connection else ""
    request, _ = parse_request(f"GET / HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode())
    assert request is not None and request.keep_alive is keep


def test_two_connection_headers_are_read_together() -> None:
    request, _ = parse_request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
    assert request is not None and request.keep_alive is False


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("buf", "status"),
    [
        (b"\x16\x03\x01\x02\x00", 400),  # a TLS hello on a plain port
        (b"GET /\r\n\r\n", 400),  # HTTP/0.9 style request line
        (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # two spaces
        (b"G3T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # not a method at all
        (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 405),  # a word, but not a method we know
        (b"GET / HTTX/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.2x\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/3\r\n\r\n", 505),
        (b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # control byte in the target
        (b"GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # non-ASCII target
        (b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),  # space before the colon
        (b"GET / HTTP/1.1\r\nHost: x\r\nN\xe9: x\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        # regression: str.isdigit() accepted "\xb2" and int() then raised ValueError, not BadRequest
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \xb2\r\n\r\n", 400),
        (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode(), 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * MAX_HEADER_BYTES, 431),  # too long before the end is seen
    ],
)
def test_bad_requests(buf: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as err:
        parse_request(buf)
    assert err.value.status == status


def test_header_block_exactly_at_the_limit_is_accepted() -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX: "
    buf = head + b"a" * (MAX_HEADER_BYTES - len(head)) + b"\r\n\r\n"
    request, used = parse_request(buf)
    assert request is not None and used == len(buf)


def test_body_at_the_limit_is_accepted() -> None:
    buf = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n".encode() + b"b" * MAX_BODY_BYTES
    assert parse_request(buf)[1] == len(buf)


# ----------------------------------------------------------------- responses
def _split(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    return status, dict(line.split(": ", 1) for line in lines), body


def test_response_has_a_true_date_and_its_length() -> None:
    body = page("Multithread Pool")
    status, headers, got = _split(response(200, body, keep_alive=True))
    assert status == "HTTP/1.1 200 OK"
    assert got == body and int(headers["Content-Length"]) == len(body)
    assert headers["Connection"] == "keep-alive"
    sent = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
    assert abs(sent - time.time()) < 5
    assert b"<h1>sockscope -- Multithread Pool</h1>" in got


def test_head_response_has_the_length_but_no_body() -> None:
    body = page("x")
    status, headers, got = _split(response(200, body, keep_alive=False, head=True))
    assert got == b"" and int(headers["Content-Length"]) == len(body)
    assert headers["Connection"] == "close"


@pytest.mark.parametrize("status", [400, 405, 413, 431, 501, 505])
def test_error_response_closes(status: int) -> None:
    line, headers, body = _split(error_response(BadRequest(status, "why")))
    assert line.startswith(f"HTTP/1.1 {status} ")
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)


# ----------------------------------------------------------------- Hypothesis
@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_bad_request(buf: bytes) -> None:
    try:
        request, used = parse_request(buf)
    except BadRequest as bad:
        assert bad.status in (400, 405, 413, 431, 501, 505)
        return
    assert (request is None) == (used == 0)
    assert 0 <= used <= len(buf)


# Arbitrary bytes rarely reach the header parser; these lines do.
header_lines = st.lists(st.binary(max_size=40).filter(lambda b: b"\r\n" not in b), max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"GET / HTTP/1.1", b"POST /x HTTP/1.0"]), header_lines, st.binary(max_size=20))
def test_arbitrary_header_lines_parse_or_raise_bad_request(first: bytes, lines: list[bytes], tail: bytes) -> None:
    buf = b"\r\n".join([first, *lines]) + b"\r\n\r\n" + tail
    try:
        parse_request(buf)
    except BadRequest:
        pass


tokens = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(lambda s: s.strip("-"))
values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, Request, bytes]:
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]))
    target = "/" + draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30))
    version = draw(st.sampled_from(["HTTP/1.0", "HTTP/1.1"]))
    names = draw(st.lists(tokens.filter(lambda n: n not in ("content-length", "transfer-encoding", "connection",
                                                            "host")), max_size=5))
    headers = [(n, draw(values)) for n in names]
    if version == "HTTP/1.1" or draw(st.booleans()):  # RFC 9112 3.2: HTTP/1.1 must name its Host
        headers.insert(draw(st.integers(0, len(headers))), ("host", draw(values)))
    connection = draw(st.sampled_from([None, "close", "keep-alive"]))
    if connection:
        headers.append(("connection", connection))
    body = draw(st.binary(max_size=50))
    if body or draw(st.booleans()):
        headers.append(("content-length", str(len(body))))
    keep = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    raw = f"{method} {target} {version}\r\n".encode()
    raw += b"".join(f"{k.title()}: {v}\r\n".encode() for k, v in headers) + b"\r\n" + body
    return raw, Request(method, target, version, tuple(headers), keep), body


@settings(max_examples=300, deadline=None)
@given(requests(), st.binary(max_size=30))
def test_valid_requests_round_trip(case: tuple[bytes, Request, bytes], after: bytes) -> None:
    raw, expected, _ = case
    assert parse_request(raw + after) == (expected, len(raw))


@settings(max_examples=200, deadline=None)
@given(requests(), st.data())
def test_any_prefix_of_a_valid_request_waits(case: tuple[bytes, Request, bytes], data: st.DataObject) -> None:
    raw = case[0]
    cut = data.draw(st.integers(0, len(raw) - 1))
    assert parse_request(raw[:cut]) == (None, 0)
