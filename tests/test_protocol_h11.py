"""servers/protocol.py checked against h11, the reference sans-IO HTTP/1.1 parser (issue 15).

Hypothesis writes request bytes: valid, nearly valid (one thing off) and hostile (control bytes, odd
whitespace, duplicate and conflicting Content-Length, chunked, obsolete line folding, huge lines), and
both parsers must agree: both accept (then on method, target, version, headers, keep-alive and the
bytes consumed), both reject, or both wait for more. Ours is also fed every prefix (a request split at
every offset): a prefix of an accepted request waits, and never decides otherwise than the whole.

Every deliberate difference is one row of ``DIFFERENCES``, with its reason; a difference no row explains
fails the test. Each row is pinned by an example of its own, so no row outlives its reason.
Regression: ``Host: a\\0b`` was answered 200 by all five models (RFC 9110 5.5: reject NUL, CR, LF).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import h11
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from servers.protocol import MAX_BODY_BYTES, MAX_HEADER_BYTES, BadRequest, parse_request


@dataclass(frozen=True)
class Outcome:
    verdict: str  # accept, reject, need
    request: tuple[object, ...] | None = None  # method, target, version, headers, keep-alive, consumed
    why: str = ""
    status: int = 0


def ours(buf: bytes) -> Outcome:
    try:
        request, used = parse_request(buf)
    except BadRequest as bad:
        return Outcome("reject", why=bad.why, status=bad.status)
    if request is None:
        return Outcome("need")
    return Outcome("accept", (request.method, request.target, request.version, _one_length(request.headers),
                              request.keep_alive, used))


def _one_length(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Repeated equal Content-Lengths as one, as h11 hands them over (the same message, RFC 9110 8.6)."""
    first = next((i for i, (k, _) in enumerate(headers) if k == "content-length"), -1)
    return tuple(h for i, h in enumerate(headers) if h[0] != "content-length" or i == first)


def theirs(buf: bytes) -> Outcome:
    """h11's verdict on ``buf``: a request is accepted once its body has ended (EndOfMessage)."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES + 4)
    if buf:  # (an empty receive_data is h11's end of stream)
        conn.receive_data(buf)
    try:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            return Outcome("need")
        assert isinstance(event, h11.Request)
        while not isinstance(nxt := conn.next_event(), h11.EndOfMessage):
            if nxt is h11.NEED_DATA:
                return Outcome("need")
    except h11.RemoteProtocolError as exc:
        return Outcome("reject", why=str(exc), status=exc.error_status_hint)
    headers = tuple((k.decode("ascii"), v.decode("latin-1")) for k, v in event.headers)
    used = len(buf) - len(conn.trailing_data[0])
    return Outcome("accept", (event.method.decode(), event.target.decode("ascii"),
                              "HTTP/" + event.http_version.decode(), headers, conn.their_state is h11.DONE, used))


# ----------------------------------------------------------------- the deliberate differences
def _head(buf: bytes) -> bytes:
    """The bytes h11 reads as the head: up to the first blank line, whichever line ends are used."""
    m = re.search(rb"\r?\n\r?\n", buf)
    return buf[: m.start()] if m else buf


def _head_and_blank_line(buf: bytes) -> bytes:
    m = re.search(rb"\r?\n\r?\n", buf)
    return buf[: m.end()] if m else buf


@dataclass(frozen=True)
class Difference:
    name: str
    applies: Callable[[bytes, Outcome, Outcome], bool]  # (bytes, ours, theirs)
    reason: str


DIFFERENCES = [
    Difference("chunked", lambda b, o, t: o.status == 501 and b"transfer-encoding" in _head(b).lower(),
               "the lesson servers read bodies by Content-Length only and answer a Transfer-Encoding with 501 "
               "(RFC 9112 6.1 allows a server to refuse what it does not implement); h11 decodes chunked"),
    Difference("method", lambda b, o, t: o.why.startswith("unknown method") and t.verdict != "reject",
               "the lesson servers know GET, HEAD, POST, PUT, DELETE, OPTIONS and PATCH (case-sensitive) and "
               "answer 405/400 to any other token; h11 takes any token as a method"),
    Difference("version", lambda b, o, t: o.status in (400, 505) and "version" in o.why and t.verdict != "reject",
               "the lesson servers speak HTTP/1.0 and 1.1 only (505 for 2.0 and up, 400 for 1.2 or 0.9); h11 "
               "parses any digit.digit"),
    Difference("http/1.0 keep-alive",
               lambda b, o, t: o.verdict == t.verdict == "accept" and o.request[2] == "HTTP/1.0"  # type: ignore[index]
               and o.request[:4] + o.request[5:] == t.request[:4] + t.request[5:]  # type: ignore[index, operator]
               and o.request[4] and not t.request[4],  # type: ignore[index]
               "an HTTP/1.0 request with 'Connection: keep-alive' is kept alive (RFC 9112 9.3 allows it, and "
               "ab -k relies on it); h11 always closes after an HTTP/1.0 request"),
    Difference("obs-fold", lambda b, o, t: o.status == 400 and re.search(rb"\r?\n[ \t]", _head(b)) is not None,
               "obsolete line folding (a header line starting with a space or tab) gets 400, one of the two "
               "answers RFC 9112 5.2 allows; h11 takes the other (joins the lines with a space)"),
    Difference("bare LF", lambda b, o, t: re.search(rb"(?<!\r)\n", _head_and_blank_line(b)) is not None
               and o.verdict != "accept",
               "only CRLF ends a line (RFC 9112 2.2 lets a recipient also take a lone LF, which h11 does): a "
               "lone LF is a control byte (400), or the head has not ended yet"),
    Difference("Content-Length list", lambda b, o, t: o.status == 400 and "Content-Length" in o.why
               and re.search(rb"(?i)\ncontent-length:[^\r\n]*,", _head(b)) is not None,
               "a Content-Length list ('5, 5') gets 400; RFC 9110 8.6 allows that or taking the one value, "
               "which h11 does"),
    Difference("body limit", lambda b, o, t: o.status == 413 and t.verdict == "need",
               f"a body over {MAX_BODY_BYTES} bytes is refused at once (413); h11 sets no limit and waits"),
    Difference("header limit", lambda b, o, t: (o.status == 431 or t.status == 431)
               and len(_head(b)) > MAX_HEADER_BYTES - 8,
               f"a head over {MAX_HEADER_BYTES} bytes gets 431 however it arrives; h11 limits only what it "
               "buffers while a head is incomplete, and counts the blank line's bytes differently"),
    Difference("control bytes", lambda b, o, t: o.status == 400 and o.why.startswith("control character")
               and t.verdict != "reject",
               "every control byte but tab in a header value gets 400 (RFC 9110 5.5: a field value is visible "
               "characters, obs-text, space and tab); h11 rejects only NUL, CR, LF, VT and FF, and lets ESC "
               "or DEL through"),
    Difference("early reject", lambda b, o, t: o.verdict == "reject" and t.verdict == "need"
               and "must start with a method" in o.why,
               "a first byte that cannot start a method is refused at once; h11 waits for the whole line"),
]


def explained(buf: bytes, o: Outcome, t: Outcome) -> list[str]:
    """The rows that explain why ``o`` and ``t`` differ (empty: they agree, or nothing explains it)."""
    if agree(o, t):
        return []
    return [d.name for d in DIFFERENCES if d.applies(buf, o, t)]


def agree(o: Outcome, t: Outcome) -> bool:
    return o.verdict == t.verdict and (o.verdict != "accept" or o.request == t.request)


def check(buf: bytes) -> None:
    o, t = ours(buf), theirs(buf)
    event(f"ours {o.verdict}, h11 {t.verdict}" + (f" ({', '.join(explained(buf, o, t))})" if not agree(o, t) else ""))
    assert agree(o, t) or explained(buf, o, t), f"ours {_short(o)} but h11 {_short(t)} for {_short(buf)}"
    check_prefixes(buf, o)


def _short(thing: object) -> str:
    text = repr(thing)
    return text if len(text) < 400 else f"{text[:300]}...({len(text)} characters)...{text[-60:]}"


def check_prefixes(buf: bytes, whole: Outcome) -> None:
    """Fed in pieces (every prefix), ours never decides what the whole request does not."""
    if whole.verdict != "accept":
        return
    used = whole.request[-1]  # type: ignore[index]
    for cut in range(len(buf) + 1):
        part = ours(buf[:cut])
        if cut < used:  # type: ignore[operator]
            assert part.verdict == "need", f"a prefix of {cut} bytes gave {_short(part)} for {_short(buf)}"
        else:
            assert part == whole


# ----------------------------------------------------------------- each row pinned by its own example
PINNED = [
    ("chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("method", b"PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("method", b"get / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("version", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
    ("version", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
    ("http/1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"),
    ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n"),
    ("bare LF", b"GET / HTTP/1.1\r\nHost: a\n\r\n"),
    ("Content-Length list", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx"),
    ("body limit", f"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()),
    ("control bytes", b"GET / HTTP/1.1\r\nHost: a\x7fb\r\n\r\n"),
    ("control bytes", b"GET / HTTP/1.1\r\nHost: a\x1b[31m\r\n\r\n"),
    ("early reject", b"1GE"),
    ("header limit", b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n"),
]


@pytest.mark.parametrize(("row", "buf"), PINNED)
def test_each_deliberate_difference_is_real_and_explained(row: str, buf: bytes) -> None:
    o, t = ours(buf), theirs(buf)
    assert not agree(o, t), f"{row}: ours and h11 agree ({o}); the row has outlived its reason"
    assert row in explained(buf, o, t)


def test_every_row_has_an_example() -> None:
    assert {row for row, _ in PINNED} == {d.name for d in DIFFERENCES}


# ----------------------------------------------------------------- where both must agree (the fixes)
@pytest.mark.parametrize("buf", [
    b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n",  # the NUL that all five models answered 200
    b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\x0bb\r\n\r\n",  # bytes.strip() used to eat a trailing \x0b
    b"GET / HTTP/1.1\r\nHost: a\x0b\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-(bad): a\r\nHost: a\r\n\r\n",  # a name must be a token
    b"GET / HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host (RFC 9112 3.2)
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  # two Hosts
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
])
def test_both_reject(buf: bytes) -> None:
    assert ours(buf).verdict == theirs(buf).verdict == "reject"
    assert ours(buf).status == 400


@pytest.mark.parametrize("buf", [
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n",  # not 'close' (was read as close: a substring)
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost:\ta\t b \t\r\n\r\n",  # spaces and tabs around a value, kept inside
    b"GET / HTTP/1.1\r\nHost: \xe9t\xe9\r\n\r\n",  # obs-text
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nhiGET",
    b"GET / HTTP/1.0\r\n\r\n",
])
def test_both_accept_alike(buf: bytes) -> None:
    o, t = ours(buf), theirs(buf)
    assert o.verdict == "accept" and o == t


# ----------------------------------------------------------------- generated
TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mostly(usual: object, *odd: object) -> st.SearchStrategy[object]:
    """``usual`` nine times in ten, else one of ``odd``: most requests are nearly valid, so both accept often."""
    return st.sampled_from([usual] * 9 * max(1, len(odd)) + list(odd))


token_names = st.text(TCHAR, min_size=1, max_size=12)
names = st.one_of(*[token_names] * 6,
                  st.sampled_from(["Host", "Content-Length", "Connection", "Transfer-Encoding", "host"]),
                  st.text(st.characters(max_codepoint=0xFF), min_size=0, max_size=6))  # hostile
visible = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
values = st.one_of(
    *[visible] * 6,
    st.sampled_from(["close", "keep-alive", "Keep-Alive, close", "chunked", "0", "5", "1, 1", " 7 ", "007", "-1",
                     "\t x \t", "\xe9t\xe9"]),
    st.text(st.characters(max_codepoint=0xFF), max_size=10),  # control bytes, obs-text
)
line_ends = mostly("\r\n", "\n", "\r", " \r\n", "\r\n ", "\r\n\t")


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method = draw(mostly("GET", "HEAD", "POST", "PUT", "get", "BREW", "G ET", ""))
    target = draw(mostly("/", "/a?b=c", "*", "/\xe9", "/ x", "/\x00", "http://h/p", "/%00"))
    version = draw(mostly("HTTP/1.1", "HTTP/1.0", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1.1 "))
    sep = draw(mostly(" ", "  ", "\t"))
    head = f"{method}{sep}{target}{sep}{version}{draw(line_ends)}"
    headers = draw(st.lists(st.tuples(names, mostly(": ", ":", " : ", ":\t"), values, line_ends), max_size=5))
    if draw(mostly(True, False)):
        headers.insert(draw(st.integers(0, len(headers))), ("Host", ": ", "example", "\r\n"))
    body = draw(st.binary(max_size=12))
    if body or draw(st.booleans()):
        headers.append(("Content-Length", ": ", str(len(body) + draw(mostly(0, 1, -1))), "\r\n"))
    for name, colon, value, end in headers:
        head += f"{name}{colon}{value}{end}"
    if draw(mostly(False, True)):  # a huge line
        head += f"X-Big: {'a' * draw(st.integers(MAX_HEADER_BYTES - 200, MAX_HEADER_BYTES + 50))}\r\n"
    raw = head.encode("latin-1") + draw(mostly(b"\r\n", b"\n", b"")) + body
    return raw + draw(st.sampled_from([b"", b"", b"GET / HTTP/1.1\r\n"]))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
@example(b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n")
def test_ours_and_h11_agree_or_differ_as_the_table_says(buf: bytes) -> None:
    check(buf)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_agree_or_differ_as_the_table_says(noise: bytes) -> None:
    check(noise)
    check(b"GET / HTTP/1.1\r\nHost: a\r\n" + noise + b"\r\n\r\n")


@settings(max_examples=200, deadline=None)
@given(requests(), st.data())
def test_a_byte_flipped_anywhere_agrees_or_differs_as_the_table_says(buf: bytes, data: st.DataObject) -> None:
    if not buf:
        return
    at = data.draw(st.integers(0, len(buf) - 1))
    byte = data.draw(st.sampled_from([0, 9, 10, 13, 32, 0x7F, 0xFF, ord(":"), ord(",")]))
    check(buf[:at] + bytes([byte]) + buf[at + 1:])


def test_a_head_at_the_limit_is_accepted_however_it_is_split() -> None:
    """Regression: a head of 8,190 bytes got 431 when the first 8,193 bytes came alone, 200 in one piece."""
    start = b"GET / HTTP/1.1\r\nHost: a\r\nX: "
    buf = start + b"a" * (MAX_HEADER_BYTES - len(start)) + b"\r\n\r\n"
    whole = ours(buf)
    assert whole.verdict == "accept" and whole.request[-1] == len(buf)  # type: ignore[index]
    check_prefixes(buf, whole)
    assert ours(buf[:-4] + b"a\r\n\r\n").status == 431  # one byte more is over
