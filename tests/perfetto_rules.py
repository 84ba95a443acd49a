"""Our own checker for Chrome trace JSON, encoding what Perfetto's importer needs.

Perfetto (src/trace_processor/importers/json) quietly merges threads whose ids
do not fit in 32 bits or are reused, drops complete slices that partly overlap
another on the same thread, binds ``bind_id`` flows only to slices
(``X``/``B``/``b``) and truncates ``ts * 1000`` to whole nanoseconds.  A trace
that passes :func:`problems` keeps every slice, thread and arrow we wrote.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

_U32 = 2**31 - 1  # Perfetto reads pid/tid as uint32; stay within int32 for chrome://tracing too


def ns(value: Any) -> int:
    """A µs timestamp as Perfetto stores it: ``int(value * 1000)``, truncated."""
    return int(float(value) * 1000.0)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def problems(doc: Any) -> list[str]:
    """Everything in ``doc`` (a parsed trace) that Perfetto would lose or misread."""
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not the object form: expected {\"traceEvents\": [...]}"]
    out: list[str] = []
    if "displayTimeUnit" in doc:  # Perfetto before the fix of google/perfetto#141 read ts in this unit
        out.append(f"displayTimeUnit {doc['displayTimeUnit']!r}: some Perfetto versions take it for the unit of ts")
    if "otherData" in doc and not isinstance(doc["otherData"], dict):
        out.append("otherData must be an object")
    events = doc["traceEvents"]
    out += _ids(events)
    out += _timestamps(events)
    out += _nesting(events)
    out += _flows(events)
    out += _async(events)
    return out


def _ids(events: list[dict[str, Any]]) -> list[str]:
    out = []
    pid_of: dict[int, int] = {}
    names: dict[int, str] = {}
    for n, e in enumerate(events):
        for key in ("pid", "tid"):
            if key in e and not (isinstance(e[key], int) and not isinstance(e[key], bool) and 0 < e[key] <= _U32):
                out.append(f"event {n}: {key} {e[key]!r} is not a non-zero 32-bit integer")
        if "tid" in e and isinstance(e.get("pid"), int):
            owner = pid_of.setdefault(e["tid"], e["pid"])
            if owner != e["pid"]:
                out.append(f"event {n}: tid {e['tid']} used in pid {e['pid']} and pid {owner}")
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            name = (e.get("args") or {}).get("name")
            if not isinstance(name, str) or not name:
                out.append(f"event {n}: thread_name without args.name")
            elif names.setdefault(e.get("tid"), name) != name:
                out.append(f"event {n}: tid {e.get('tid')} named twice ({names[e.get('tid')]!r}, {name!r})")
        if e.get("ph") in ("X", "B", "E", "i", "I") and e.get("s", "t") == "t" and "tid" not in e:
            out.append(f"event {n}: a thread event without tid")
    # Perfetto makes the thread whose tid equals a pid that process's main thread.
    pids = {e["pid"] for e in events if isinstance(e.get("pid"), int)}
    for pid in sorted(pids):
        if pid_of.get(pid, pid) != pid:
            out.append(f"pid {pid} is also tid {pid} of pid {pid_of[pid]}: Perfetto would move that thread")
    return out


def _timestamps(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for n, e in enumerate(events):
        if e.get("ph") == "M":
            continue
        if not _number(e.get("ts")) or e["ts"] < 0:
            out.append(f"event {n}: ts {e.get('ts')!r} is not a number of µs >= 0")
        if e.get("ph") == "X" and (not _number(e.get("dur")) or e["dur"] < 0):
            out.append(f"event {n}: dur {e.get('dur')!r} is not a number of µs >= 0")
    return out


def _nesting(events: list[dict[str, Any]]) -> list[str]:
    """Complete slices on one thread must nest: each ends no later than the one it starts in."""
    per_tid: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for n, e in enumerate(events):
        if e.get("ph") == "X" and _number(e.get("ts")) and _number(e.get("dur")):
            start = ns(e["ts"])
            per_tid[(e.get("pid", 0), e.get("tid", 0))].append((start, start + ns(e["dur"]), n))
        elif e.get("ph") in ("i", "I") and e.get("s", "t") == "t" and _number(e.get("ts")):
            per_tid[(e.get("pid", 0), e.get("tid", 0))].append((ns(e["ts"]), ns(e["ts"]), n))
    out = []
    for (pid, tid), slices in per_tid.items():
        slices.sort(key=lambda s: s[0])  # Perfetto sorts by ts; ties keep file order
        stack: list[tuple[int, int]] = []
        for start, end, n in slices:
            while stack and stack[-1][0] <= start:
                stack.pop()
            if stack and end > stack[-1][0]:
                out.append(f"event {n}: slice [{start}, {end}] ns on pid {pid} tid {tid} partly overlaps "
                           f"event {stack[-1][1]} (ends {stack[-1][0]})")
                continue
            stack.append((end, n))
    return out


def _flows(events: list[dict[str, Any]]) -> list[str]:
    outs: dict[Any, int] = defaultdict(int)
    ins: dict[Any, int] = defaultdict(int)
    v1: dict[tuple[Any, Any, Any], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    out = []
    for n, e in enumerate(events):
        if "bind_id" in e:
            if e.get("ph") not in ("X", "B", "b"):
                out.append(f"event {n}: bind_id on a {e.get('ph')!r} event, which Perfetto does not bind")
            if e.get("flow_out"):
                outs[e["bind_id"]] += 1
            if e.get("flow_in"):
                ins[e["bind_id"]] += 1
            if not (e.get("flow_out") or e.get("flow_in")):
                out.append(f"event {n}: bind_id without flow_out or flow_in")
        if e.get("ph") in ("s", "f"):
            v1[(e.get("cat"), e.get("name"), e.get("id"))][e["ph"]] += 1
    for fid in set(outs) | set(ins):
        if outs[fid] != 1 or ins[fid] < 1:
            out.append(f"flow {fid!r}: {outs[fid]} flow_out and {ins[fid]} flow_in ends (want 1 and >= 1)")
    for key, ends in v1.items():
        if ends["s"] < 1 or ends["f"] < 1:
            out.append(f"flow {key!r}: missing its {'start' if ends['s'] < 1 else 'end'}")
    return out


def _async(events: list[dict[str, Any]]) -> list[str]:
    open_: dict[tuple[Any, Any, Any], list[int]] = defaultdict(list)
    out = []
    for e in sorted((e for e in events if e.get("ph") in ("b", "e")), key=lambda e: (ns(e["ts"]), e["ph"] == "e")):
        key = (e.get("cat"), e.get("id"), e.get("name"))
        if "id" not in e and "id2" not in e:
            out.append(f"async {e.get('name')!r} without id")
        if e["ph"] == "b":
            open_[key].append(ns(e["ts"]))
        elif not open_[key]:
            out.append(f"async end {key!r} without a begin")
        else:
            open_[key].pop()
    out += [f"async begin {key!r} never ends" for key, begun in open_.items() if begun]
    return out
