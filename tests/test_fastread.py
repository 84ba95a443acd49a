"""The reader's C fast path (tracer/recording/_fastread.c) against the careful Python path: the same model.

Every recording shipped and in tests/data, and Hypothesis-made ones (clean, odd-but-valid, and damaged:
the same error, word for word, with the same line number), read both ways and compared field by field.
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracer.errors import RecordingError
from tracer.recording import fastpath, follow, reader
from tracer.recording.follow import Loader
from tracer.recording.model import Recording

HERE = os.path.dirname(__file__)
FILES = sorted(glob.glob(os.path.join(HERE, "..", "recordings", "*.jsonl")) +
               glob.glob(os.path.join(HERE, "data", "*.jsonl")))

needs_c = pytest.mark.skipif(reader.native is None, reason="the C fast path is not built here")


def model(rec: Recording) -> dict:  # type: ignore[type-arg]
    """Everything a Recording holds, as plain values (dict order kept where it is part of the model)."""
    lanes = [(lane.id, lane.name, lane.native_id, lane.side, lane.line, list(lane.t), list(lane.dur),
              list(lane.kind), list(lane.conn), list(lane.count), list(lane.lines), sorted(lane.details.items()),
              lane._sorted, lane.end) for lane in rec.lanes.values()]
    return {"header": rec.header, "lanes": lanes, "lane_order": list(rec.lanes),
            "counters": {k: (list(c.t), list(c.v)) for k, c in rec.counters.items()},
            "marks": rec.marks, "connections": list(rec.connections.items()), "trailer": rec.trailer,
            "warnings": rec.warnings, "n_events": rec.n_events, "t_max": rec.t_max}


def outcome(path: str, fast: bool) -> object:
    try:
        return model(reader.load(path, fast=fast))
    except RecordingError as exc:
        return ("error", str(exc))


def reference_load(path: str) -> Recording:
    """The reader before issue 14, kept here as the definition: readline(LINE_LIMIT), one careful feed a line."""
    builder = reader.Builder(path, fast=False)
    with open(path, encoding="utf-8", newline="") as f:
        try:
            while line := f.readline(reader.LINE_LIMIT):
                if not line.endswith("\n"):
                    if len(line) == reader.LINE_LIMIT:
                        raise RecordingError(path, builder.line_no + 1,
                                             f"a line longer than {reader.LINE_LIMIT:,} characters: not a recording")
                    return reader._last_line(builder, line)
                builder.feed(line)
        except UnicodeDecodeError:
            return reader._not_utf8(builder, path)
    return builder.finish()


def reference(path: str) -> object:
    try:
        return model(reference_load(path))
    except RecordingError as exc:
        return ("error", str(exc))


def loaded(path: str, fast: bool, chunk: int) -> object:
    """The same file through the live path (Follower chunks, Loader), with small reads."""
    loader = Loader(path, lambda b: None, chunk=chunk)
    loader.builder = reader.Builder(path, fast)
    try:
        return model(loader.run())
    except RecordingError as exc:
        return ("error", str(exc))


def same_both_ways(path: Path, lines: list[str], chunk: int = 4096) -> object:
    """Write ``lines`` to ``path``; assert both paths (load and the loader) read what the reference reads."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    slow = outcome(str(path), False)
    assert slow == reference(str(path))
    assert outcome(str(path), True) == slow
    assert loaded(str(path), True, chunk) == loaded(str(path), False, chunk)
    return slow


@needs_c
@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_every_recording_reads_the_same_both_ways(path):
    slow = outcome(path, False)
    assert slow == reference(path)
    assert outcome(path, True) == slow
    assert loaded(path, True, 4096) == loaded(path, False, 4096)


# ---------------------------------------------------------------- made-up recordings
HEAD = json.dumps({"format": "sockscope", "version": 1, "model": "pool", "t0_monotonic_ns": 0})
LANES = [(0, "MainThread", "server"), (1, "worker_0", "server"), (2, "worker_1", "server"),
         (10, "client-0", "client"), (11, "client-1", "client")]
KINDS = ["accept", "submit", "start", "recv", "send", "close", "connect", "thread_start", "listen", "work"]
PEERS = ["127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.1:5002"]


@st.composite
def event(draw) -> str:  # type: ignore[no-untyped-def]
    t = draw(st.integers(0, 5000)) * 100
    dur = draw(st.integers(0, 50)) * 100
    kind = draw(st.sampled_from(KINDS))
    lane = draw(st.sampled_from([x[0] for x in LANES]))
    conn = draw(st.integers(0, 4))
    count = draw(st.sampled_from([-1, 0, 27, 330]))
    detail = draw(st.sampled_from([None, None, "eof", "client", "", "a,b]c", *PEERS, 7, -3]))
    fields = [str(t), str(dur), f'"{kind}"', str(lane), str(conn), str(count)]
    if detail is not None:
        fields.append(json.dumps(detail))
    line = "[" + ",".join(fields) + "]"
    return draw(st.sampled_from([line, line, line, line, _odd(line, draw)]))


def _odd(line: str, draw) -> str:  # type: ignore[no-untyped-def]
    """A line the careful path reads (or rejects) and the fast path must hand over to it."""
    return draw(st.sampled_from([
        line.replace(",", ", ", 1),  # a space: valid JSON
        line.replace("[", "[0", 1),  # a leading zero: the Python fast path takes it, json would not
        line.replace("[", "[-", 1),  # a negative time
        line.replace('"', '"x', 1),  # an unknown kind
        line.replace("[", "[1_0", 1),  # int() takes an underscore
        line[:-1],  # no closing bracket
        line + " ",
        line.replace("]", ",1]"),  # a field too many (or an int detail)
        line.replace("[", "[99999999999999999999", 1),  # too big for the fast path's 18 digits
        line.replace("[", "[4611686018427387905", 1),  # over 2**62
        '{"c": "queue", "t": 5, "v": 2}',
        '{"mark": "hello", "t": 7}',
        '{"mark": null}',  # damaged objects: the careful path's errors, raised in the middle of a run
        '{"c": 0}',
        '{"lane": 1, "name": "again"}',
        '{"lane": 20, "name": "late", "side": "client"}',
        '[1,2,"recv",7,0,0]',  # an undeclared lane
        '[1,2,"recv",10,-2,0]',  # a negative client connection id
        '[1,2,"recv",1,3000000000,0]',  # a connection id over 32 bits
        '[1,2,"recv",1,0,0,"é"]',  # non-ASCII detail
        '[1,2,"recv",1,0,0,"a\\"b"]',  # an escaped quote
        '[1,2,"recv",1,0,0,true]',
        "",
        "not json",
    ]))


@st.composite
def recording(draw) -> str:  # type: ignore[no-untyped-def]
    lines = [HEAD]
    lines += [json.dumps({"lane": i, "name": n, "native_id": i + 1, "side": side}) for i, n, side in LANES]
    lines += draw(st.lists(event(), max_size=60))
    if draw(st.booleans()):
        lines.append('{"end": true, "dropped": 0}')
        if draw(st.booleans()):
            lines.append(draw(event()))  # after the trailer
    ends = draw(st.lists(st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", "\x0c", "\u2028"]),
                         min_size=len(lines), max_size=len(lines)))
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    cut = draw(st.sampled_from([None, None, -1, -3]))
    return text[:cut] if cut else text


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=recording())
def test_made_up_and_damaged_recordings_read_the_same_both_ways(tmp_path, text):
    path = tmp_path / "r.jsonl"
    path.write_text(text, encoding="utf-8", newline="")
    slow = outcome(str(path), False)
    assert slow == reference(str(path))
    assert outcome(str(path), True) == slow
    assert loaded(str(path), True, 64) == loaded(str(path), False, 64)


@needs_c
def test_a_damaged_line_is_reported_by_the_careful_path_with_its_number(tmp_path):
    lines = [HEAD, json.dumps({"lane": 1, "name": "w", "side": "server"})]
    lines += [f"[{i * 10},5,\"recv\",1,0,3]" for i in range(20_000)]
    lines[15_000] = '[150000,5,"recv",1,0,3'
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError) as exc:
        reader.load(str(path), fast=True)
    assert exc.value.line == 15_001
    assert str(exc.value) == outcome(str(path), False)[1]  # type: ignore[index]


@pytest.mark.parametrize("limit", [150, 151, 152, 300])
@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_blocks_cut_lines_as_readline_did(tmp_path, monkeypatch, limit, block):
    """Long lines, CR and CRLF ends across block edges, a bad byte: as the one-readline-a-line reader."""
    monkeypatch.setattr(reader, "LINE_LIMIT", limit)
    monkeypatch.setattr(reader, "BLOCK", block)
    head = HEAD.encode()
    lane = json.dumps({"lane": 1, "name": "w", "side": "server"}).encode()
    ev = b'[1,2,"recv",1,0,3]'
    cases = [head + b"\n" + lane + b"\r\n" + ev * 1 + b"\n" + b"[" + b"1" * 160 + b"]\n",
             head + b"\n" + lane + b"\r" + ev + b"\n",
             head + b"\n" + lane + b"\n" + ev + b"\r\n" + ev,
             head + b"\n" + lane + b"\n" + b"x" * 400,
             head + b"\n" + lane + b"\n" + ev + b"\n" + b"\xff" + ev + b"\n",
             head + b"\n" + lane + b"\n" + ev + b"\n" + ev[:5] + b"\xc3",
             # the C path reads blocks in place: what readlines would cut where it does not look
             head + b"\n" + lane + b"\n" + (ev + b"\n") * 30 + ev + b"\r\r\n" + (ev + b"\n") * 3,
             head + b"\n" + lane + b"\n" + (ev + b"\n") * 30 + ev[:4] + b"\r" + ev[4:] + b"\n" + ev + b"\n",
             head + b"\n" + lane + b"\n" + (ev + b"\n") * 30 + b'{"c": "q", "t": 1, "v": 2' + b" " * 200 + b"}\n",
             head + b"\n" + lane + b"\n" + (ev + b"\n") * 30 + b'{"end": true}\n' + ev + b"\n",
             head + b"\n" + lane + b"\n" + (ev + b"\n") * 30 + b'{"end": true}\n\n\n',
             head + b"\n" + lane + b"\n" + (ev + b"\n") * 30 + b"\n" + (ev + b"\n") * 3,
             head + b"\n" + lane + b"\n" + (ev + b"\n") * 30 + '[1,2,"close",1,0,3,"é"]\n'.encode() + ev + b"\n",
             head + b"\r\n" + lane + b"\r\n" + (ev + b"\r\n") * 30,
             head + b"\r" + lane + b"\n" + (ev + b"\n") * 3]
    for k, data in enumerate(cases):
        path = tmp_path / f"c{k}.jsonl"
        path.write_bytes(data)
        assert outcome(str(path), False) == reference(str(path)), k
        assert outcome(str(path), True) == reference(str(path)), k


def test_without_the_c_path_the_python_one_reads(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCKSCOPE_PURE_PYTHON", "1")
    assert fastpath._load_native() is None
    rec = reader.load(os.path.join(HERE, "data", "pool.jsonl"), fast=False)
    assert rec.n_events and reader.Builder("x", fast=False).fast is None


@needs_c
def test_the_c_path_reads_whole_blocks_in_place(tmp_path, monkeypatch):
    """load() hands the C path each block as one string (not a str a line), and takes the same model."""
    lines = [HEAD, json.dumps({"lane": 1, "name": "w", "side": "server"})]
    lines += [f"[{i * 10},5,\"recv\",1,0,3]" for i in range(5000)]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    taken = []
    real = reader.native.feed_block

    def spy(builder, text, start, stop, limit):  # type: ignore[no-untyped-def]
        at = real(builder, text, start, stop, limit)
        taken.append(at - start)
        return at

    monkeypatch.setattr(reader.native, "feed_block", spy)
    monkeypatch.setattr(reader, "BLOCK", 4096)
    assert outcome(str(path), True) == outcome(str(path), False)
    assert sum(taken) > 0.95 * path.stat().st_size  # nearly all of the file went through it


# ---------------------------------------------------------------- the UI's loader (replay, live) on the block path
def grown(path: str, cuts: list[int], chunk: int, tmp: str) -> object:
    """``path`` written to ``tmp`` a piece at a time (cut at ``cuts``), a Loader polling after each piece."""
    with open(path, "rb") as f:
        data = f.read()
    with open(tmp, "wb"):
        pass
    loader = Loader(tmp, lambda b: None, follow=True, chunk=chunk)
    done = 0
    try:
        with loader.follower:
            for cut in [*sorted(set(cuts)), len(data)]:
                with open(tmp, "ab") as out:
                    out.write(data[done:cut])
                done = max(done, cut)
                while loader.step():
                    pass
                whole = data[: data[:done].rfind(b"\n") + 1]
                # a half-written last line waits for its newline: never parsed, only kept
                assert loader.follower.partial == data[len(whole):done]
                assert loader.builder.line_no == len(whole.decode("utf-8").splitlines())
            return model(loader._finish())
    except RecordingError as exc:
        return ("error", str(exc))


@needs_c
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.floats(0, 1), max_size=12), chunk=st.sampled_from([64, 100, 4096, 1 << 18]))
@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_a_growing_file_cut_anywhere_follows_to_the_model_load_reads(tmp_path, path, cuts, chunk):
    """Live and replay's loader, fed a file in pieces cut at random bytes, ends with load()'s model (or error)."""
    size, tmp = os.path.getsize(path), str(tmp_path / "g.jsonl")
    got = grown(path, [int(c * size) for c in cuts], chunk, tmp)
    assert repr(got).replace(tmp, path) == repr(outcome(path, True))  # (messages and warnings name the file)


@needs_c
@pytest.mark.parametrize("piece", [None, 1000])
def test_the_loader_reads_through_the_block_path(tmp_path, monkeypatch, piece):
    """Replay/live's Loader hands the C path its chunks in place; hardly a line goes through feed_lines.  At most
    a SLICE at a time (``piece``: a small one), cut after a newline: the C path holds the GIL, the UI waits."""
    lines = [HEAD, json.dumps({"lane": 1, "name": "w", "side": "server"})]
    lines += [f"[{i * 10},5,\"recv\",1,0,3]" for i in range(5000)]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = outcome(str(path), False)
    taken, careful, asked = [], [], []
    real_block, real_lines = reader.native.feed_block, reader.Builder.feed_lines

    def spy(builder, text, start, stop, limit):  # type: ignore[no-untyped-def]
        at = real_block(builder, text, start, stop, limit)
        taken.append(at - start)
        asked.append((stop - start, text[stop - 1]))
        return at

    def lines_spy(builder, some):  # type: ignore[no-untyped-def]
        careful.extend(some)
        return real_lines(builder, some)

    monkeypatch.setattr(reader.native, "feed_block", spy)
    monkeypatch.setattr(reader.Builder, "feed_lines", lines_spy)
    if piece is not None:
        monkeypatch.setattr(follow, "SLICE", piece)
    batches: list = []  # type: ignore[type-arg]
    rec = Loader(str(path), batches.append, chunk=4096).run()
    assert model(rec) == expected
    assert all(size <= (piece or follow.SLICE) and last == "\n" for size, last in asked)
    if piece is not None:
        assert len(asked) > len(batches)  # (a 4 KB chunk... up to 8 MB ones: several slices each)
    assert sum(taken) > 0.95 * path.stat().st_size
    assert len(careful) <= 2  # the header (and nothing else)
    assert len(batches) > 3 and batches[-1].finished  # progress while it loads
    assert sum(b.new_lines for b in batches) == len(lines)


def test_a_line_longer_than_the_first_read_is_read_on_not_cut_off():
    """A header longer than the loader's first read: it reads on (it used to finish there: "cut-off line")."""
    path = os.path.join(HERE, "data", "pool.jsonl")
    with open(path, "rb") as f:
        assert len(f.readline()) > 64
    assert loaded(path, True, 64) == outcome(path, False) == loaded(path, False, 64)


@pytest.mark.parametrize("chunk", [64, 4096, 1 << 18])
def test_the_loader_numbers_a_bad_byte_as_load_does(tmp_path, chunk):
    """The line of a UTF-8 error counts the lines the block path took (it does not hand the follower lines)."""
    lines = [HEAD, json.dumps({"lane": 1, "name": "w", "side": "server"})]
    lines += [f"[{i},5,\"recv\",1,0,3]" for i in range(3000)]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode().replace(b"[1500,", b"[1500\xff,"))
    assert loaded(str(path), True, chunk) == outcome(str(path), True) == ("error", f"{path}:1503: expected UTF-8 "
                                                                          "text, got byte 0xff")


@needs_c
@pytest.mark.parametrize("again", ["same", "other_side", "none"])
def test_lanes_declared_between_events_and_again_read_the_same_both_ways(tmp_path, again):
    # The C path finds a lane's stage by its id (ids under 1,024) and forgets them at every object line:
    # a lane declared again, one declared late and one past the cache must all read as the careful path reads
    decl = [json.dumps({"lane": i, "name": n, "native_id": i + 1, "side": "server"}) for i, n in
            ((0, "MainThread"), (1, "worker_0"))]
    lines = [HEAD, *decl, "[100,5,\"accept\",0,1,-1,\"127.0.0.1:5000\"]", "[120,3,\"recv\",1,1,10]"]
    if again != "none":
        side = "server" if again == "same" else "client"
        lines.append(json.dumps({"lane": 1, "name": "worker_0b", "native_id": 9, "side": side}))
    lines += ["[130,2,\"send\",1,1,10]", json.dumps({"lane": 5000, "name": "far", "native_id": 7, "side": "server"}),
              "[140,1,\"recv\",5000,0,3]", "[150,1,\"send\",1,1,4]", "[160,0,\"close\",1,1,-1]"]
    same_both_ways(tmp_path / "r.jsonl", lines, chunk=64)


def _pool(n_conns: int, first_client: int, peers: int, seed: int) -> list[str]:
    """A pool-shaped run: connects before accepts (client halves dropped at the accept), peers reused every
    ``peers`` connections, close reasons repeated, int details among them (7 and "7" are two values)."""
    import random

    rnd = random.Random(seed)
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "native_id": i + 1, "side": side}) for i, n, side in LANES]
    t = 0
    for k in range(1, n_conns + 1):
        client_id = first_client + (k if rnd.random() < 0.9 else rnd.randrange(1, n_conns + 1))  # some out of order
        peer, client = f"127.0.0.1:{10_000 + k % peers}", rnd.choice([10, 11])
        t += rnd.randint(1, 50)
        reason = rnd.choice(['"eof"', '"reset"', "7", '"7"', '""'])
        lines += [f'[{t},5,"connect",{client},{client_id},-1,"{peer}"]',
                  f'[{t + 3},4,"accept",0,{k},-1,"{peer}"]' if rnd.random() < 0.9 else f'[{t + 3},4,"recv",1,{k},3]',
                  f'[{t + 5},1,"send",{client},{client_id},27]', f'[{t + 6},2,"recv",1,{k},27]',
                  f'[{t + 9},1,"close",1,{k},-1,{reason}]', f'[{t + 9},1,"close",{client},{client_id},-1,"client"]']
    return lines


@needs_c
@pytest.mark.parametrize(("n_conns", "first_client", "peers"), [
    (3000, 0, 50),  # client ids near the server's
    (3000, 10_000_000, 3000),  # a client process's round (its ids from 10,000,000), every peer new
    (2000, 2**31 - 2100, 7),  # near the top of 32 bits, few peers
])
def test_many_connections_and_repeated_details_read_the_same_both_ways(tmp_path, n_conns, first_client, peers):
    # The C path keeps each run's details in a table of its own (grown mid-run: thousands of distinct peers in
    # one block) and the client map's array starts at the first client id written: the same model both ways
    lines = _pool(n_conns, first_client, peers, seed=n_conns + peers)
    path = tmp_path / "r.jsonl"
    same_both_ways(path, lines)
    fast, careful = reader.load(str(path), fast=True), reader.load(str(path), fast=False)
    assert list(fast.values.items) == list(careful.values.items)  # numbered in the same order, 7 apart from "7"
    assert len(fast.values.items) >= min(peers, n_conns)


@needs_c
@pytest.mark.parametrize("last", ["", '[1234567890123456789,0,"recv",1,0,0]', '[5,1,"recv",1,0,123456789012345678901]',
                                  '[5,1,"close",1,1,-1,0123456789]', '[5,1,"close",1,1,-1,-12345678901234]',
                                  '[-123456789012,1,"recv",1,0,0]', '[123456789x,1,"recv",1,0,0]'])
def test_numbers_of_every_length_read_the_same_both_ways(tmp_path, last):
    # The C path scans digits up to the line's ']' with no bound to test (it stops there): numbers of 1 to
    # 18 digits in every field, a leading zero, a minus, the line's end right after them; then one line the
    # careful path reads or rejects (too long, a leading zero in an integer detail, a negative time)
    import random

    rnd = random.Random(3)
    lines = [HEAD, json.dumps({"lane": 1, "name": "w", "side": "server"}),
             json.dumps({"lane": 10, "name": "c", "side": "client"})]
    for k in range(1, 19):
        for _ in range(6):
            x = str(rnd.randrange(10 ** (k - 1), 10**k))
            lines += [f'[{x},{x[:5]},"recv",1,{x[:9]},{x}]', f'[{x},0,"send",1,0,-{x}]',
                      f'[5,{x},"close",1,1,-1,{x}]', f'[5,{x},"close",1,1,-1,-{x}]',
                      f'[5,1,"connect",10,{x[:9]},0]', f'[0{x},1,"send",1,0,3]', f'[{x[:17]}0,1,"recv",1,0,0]']
    slow = same_both_ways(tmp_path / "r.jsonl", lines + [last] * bool(last))
    valid = ("", '[1234567890123456789,0,"recv",1,0,0]', '[5,1,"close",1,1,-1,-12345678901234]')
    assert isinstance(slow, tuple) == (last not in valid)  # (an error: the careful path's)


COUNTER_LINES = ['{"c": "queue", "t": 5, "v": 2}', '{"c": "queue", "t": 0, "v": -3}', '{"c": "", "t": 1, "v": 0}',
                 '{"c": "backlog", "t": 4611686018427387903, "v": 4611686018427387903}',
                 '{"c": "queue", "t": -0, "v": 1}', '{"c":"queue","t":5,"v":2}', '{"c": "queue", "v": 2, "t": 5}',
                 '{"c": "queue", "t": 5, "v": 2, "x": 1}', '{"c": "q\\u00e9", "t": 5, "v": 2}',
                 '{"c": "a\\"b", "t": 5, "v": 2}', '{"c": "queue", "t": 5, "v": 2} ']
BAD_COUNTERS = ['{"c": "queue", "t": -5, "v": 2}', '{"c": "queue", "t": 4611686018427387904, "v": 2}',
                '{"c": "queue", "t": 5, "v": -4611686018427387904}', '{"c": "queue", "t": 05, "v": 2}',
                '{"c": "queue", "t": 5, "v": 2.0}', '{"c": "queue", "t": 5, "v": 2', '{"c": "queue", "t": 5, "v": "2"}']


@needs_c
@pytest.mark.parametrize("bad", ["", *BAD_COUNTERS])
def test_counter_lines_read_the_same_both_ways(tmp_path, bad):
    # The C path appends a counter line of the recorder's shape to a counter already seen; a new counter, any
    # other spacing or order, and every damaged one are the careful path's (the same error, the same line)
    lines = [HEAD, json.dumps({"lane": 1, "name": "w", "side": "server"})]
    for k in range(40):
        lines += [f'[{k * 10},5,"recv",1,0,3]', COUNTER_LINES[k % len(COUNTER_LINES)], f'{{"c": "n{k % 7}", "t": {k}, '
                  f'"v": {k * 3}}}']
    lines[50:50] = [bad] * bool(bad)
    lines += ['{"end": true}', '{"c": "queue", "t": 5, "v": 2}']  # a counter after the trailer: an error
    path = tmp_path / "r.jsonl"
    slow = same_both_ways(path, lines)
    assert isinstance(slow, tuple) and str(len(lines) if not bad else 51) in slow[1]
    same_both_ways(path, lines[:-1])
    if not bad:
        rec = reader.load(str(path), fast=True)
        assert len(rec.counters["queue"].t) == 26 and len(rec.counters["n3"].t) == 6  # (every one taken)


@needs_c
@pytest.mark.parametrize("chunk", [64, 4096])
def test_values_the_careful_path_adds_between_c_runs_are_not_added_twice(tmp_path, chunk):
    # The C path keeps its table of the details' strings across its calls and appends new ones to the values
    # alone (Values.sync numbers them when Python looks one up); values the careful path adds between two calls
    # (an escaped "eof", a non-ASCII reason, an int detail and its str) must be found there, not appended again
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "native_id": i + 1, "side": side}) for i, n, side in LANES]
    for k in range(1, 400):
        t = 100 * k
        lines += [f'[{t},1,"accept",0,{k},-1,"127.0.0.1:{5000 + k % 7}"]', f'[{t + 1},1,"recv",1,{k},3]']
        lines.append([f'[{t + 2},1,"close",1,{k},-1,"eof"]', f'[{t + 2},1,"close",1,{k},-1,"e\\u006ff"]',
                      f'[{t + 2},1,"close",1,{k},-1,"r\\u00e9set"]', f'[{t + 2},1,"close",1,{k},-1,7]',
                      f'[{t + 2},1,"close",1,{k},-1,"7"]', f'[{t + 2},1,"close", 1,{k},-1,"127.0.0.1:5003"]',
                      f'[{t + 2},1,"close",1,{k},-1]'][k % 7])
    path = tmp_path / "r.jsonl"
    same_both_ways(path, lines, chunk=chunk)
    fast, careful = reader.load(str(path), fast=True), reader.load(str(path), fast=False)
    assert list(fast.values.items) == list(careful.values.items)
    assert len(set(map(repr, fast.values.items))) == len(fast.values.items)  # each value once
    for rec in (fast, careful):
        assert rec.values.ids == {} and rec.values.synced == len(rec.values.items)
    live = Loader(str(path), lambda b: None, chunk=chunk)
    live.builder = reader.Builder(str(path), True)
    assert list(live.run().values.items) == list(careful.values.items)


def _joins(seed: int) -> list[str]:
    """Both ends of connections in every order a recording can hold them: connects before and after their
    accepts, a peer connected twice before its accept (the later one is joined), unix peers (joined by a key
    that is not the detail), peers with nothing to join by, and some lines the careful path reads (a space in
    them) that connect, accept or send in the middle of the C path's calls."""
    import random

    rnd = random.Random(seed)
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "native_id": i + 1, "side": side}) for i, n, side in LANES]
    t = 0
    for k in range(1, 1500):
        t += rnd.randint(1, 9)
        client_id, client = k + rnd.choice([0, 0, 0, 5_000_000]), rnd.choice([10, 11])
        peer = rnd.choice([f"127.0.0.1:{20_000 + k % 97}", f"127.0.0.1:{20_000 + k % 97}", "unix:/s from /c%d" % k,
                           "unix:/s", "nowhere", f"[::1]:{k}"])
        sep = " " if rnd.random() < 0.08 else ""
        connect = f'[{t},5,"connect",{client},{client_id},-1,{sep}"{peer}"]'
        accept = f'[{t + 1},4,"accept",0,{k},-1,{sep}"{peer}"]'
        ends = [connect, accept] if rnd.random() < 0.6 else [accept, connect]
        if rnd.random() < 0.05:
            ends.insert(1, f'[{t},5,"connect",{client},{client_id + 7_000_000},-1,"{peer}"]')  # again, unaccepted
        lines += ends
        lines += [f'[{t + 2},1,"send",{client},{client_id},{sep}27]', f'[{t + 3},2,"recv",1,{k},27]',
                  f'[{t + 4},1,"close",1,{k},-1,"eof"]', f'[{t + 4},1,"close",{client},{client_id},-1,"client"]']
    return lines


@needs_c
@pytest.mark.parametrize("block", [97, 4096, 1 << 20])
@pytest.mark.parametrize("seed", range(3))
def test_joins_and_spots_held_in_c_across_calls_read_the_same_both_ways(tmp_path, monkeypatch, block, seed):
    # The C path keeps a call's pending connects, unmatched accepts and not-yet-joined client events in C and
    # hands what is left to the builder's dicts when the call ends; the next call (or the careful path) goes on
    # from them: the same model, however the file is cut into calls
    monkeypatch.setattr(reader, "BLOCK", block)
    path = tmp_path / "r.jsonl"
    same_both_ways(path, _joins(seed), chunk=block)
    fast = reader.Builder(str(path), True)
    with open(path, encoding="utf-8", newline="") as f:
        reader._read_blocks(f, fast, 0, None)
    slow = reader.Builder(str(path), False)
    with open(path, encoding="utf-8", newline="") as f:
        reader._read_blocks(f, slow, 0, None)
    assert fast._pending_connect == slow._pending_connect and fast._unmatched_accept == slow._unmatched_accept
    assert {k: [(lane.id, i) for lane, i in v] for k, v in fast._client_spots.items()} == \
        {k: [(lane.id, i) for lane, i in v] for k, v in slow._client_spots.items()}


@needs_c
@pytest.mark.parametrize("limit", [150, 1 << 20])
@pytest.mark.parametrize("block", [5, 64, 1 << 20])
def test_the_bytes_path_reads_what_text_mode_read(tmp_path, monkeypatch, limit, block):
    """load() hands the C path the file's bytes (not decoded blocks): lines that are not ASCII (taken by C when
    they are UTF-8 object lines, else Python's), characters cut at a block's edge or at the end, a byte that is
    not UTF-8, a lone CR, lines of more bytes than characters around the limit: as the one-readline-a-line reader."""
    monkeypatch.setattr(reader, "LINE_LIMIT", limit)
    monkeypatch.setattr(reader, "BLOCK", block)
    head = HEAD.encode()
    lane = json.dumps({"lane": 1, "name": "wörker", "side": "server"}, ensure_ascii=False).encode()
    ev = b'[1,2,"recv",1,0,3]\n'
    body = head + b"\n" + lane + b"\n" + ev * 20
    cases = [body + '{"mark": "ünï", "t": 5}\n'.encode() + ev * 20,
             body + '[1,2,"close",1,0,3,"é"]\n'.encode() + ev * 3,
             body + "é".encode()[:1],  # a character cut off at the end
             body + "[1,2,é".encode()[:-1],
             body + b'{"mark": "\xc3", "t": 5}\n' + ev,  # not UTF-8
             body + b'{"mark": "x", "t": 5}\xff\n' + ev,
             body + b"x\ry",  # a lone CR in a last line without its newline
             body + b"x\r" + b"y" * 300 + b"\n" + ev,
             body + b"x\r",
             body + b'{"mark": "' + "é".encode() * 100 + b'", "t": 5}\n' + ev,  # more bytes than characters
             body + b'{"mark": "' + "é".encode() * 100,
             body + b'{"mark": "' + "é".encode() * 200 + b'", "t": 5}\n' + ev,
             "\ufeff".encode() + body,  # a byte order mark: not a header
             b"\xff" + body]
    for k, data in enumerate(cases):
        path = tmp_path / f"c{k}.jsonl"
        path.write_bytes(data)
        want = reference(str(path))
        assert outcome(str(path), False) == want, k
        assert outcome(str(path), True) == want, k


@needs_c
def test_feed_block_takes_bytes_as_it_takes_str(tmp_path):
    lines = [HEAD] + [json.dumps({"lane": i, "name": n, "native_id": i + 1, "side": side}) for i, n, side in LANES]
    lines += [f"[{i * 10},5,\"recv\",1,0,3]" for i in range(300)] + ['{"c": "queue", "t": 5, "v": 1}']
    text = "\n".join(lines[1:]) + "\n"
    got = []
    for data in (text, text.encode(), bytearray(text.encode()), memoryview(text.encode())):
        builder = reader.Builder("x.jsonl")
        builder.feed(lines[0] + "\n")
        assert reader.native.feed_block(builder, data, 0, len(text), reader.LINE_LIMIT) == len(text)
        got.append(model(builder.finish()))
    assert got[1:] == got[:1] * 3
    with pytest.raises(ValueError):
        reader.native.feed_block(reader.Builder("x.jsonl"), b"[1]\n", 0, 5, 10)
    with pytest.raises(TypeError):
        reader.native.feed_block(reader.Builder("x.jsonl"), 12, 0, 0, 10)
