"""How long the recorder's writer holds the GIL a batch: what a traced server's threads wait for.

A batch is what the lesson's pool code queues in one flush interval under bench_recorder.py's keep-alive load
(~104,000 requests/s, a recv and a send each: ~10,400 events in 50 ms). A spinner thread counts loop turns;
the main thread makes and flushes batches back to back. The turns the spinner loses, against a run that only
emits the same events, are the time the flush held the GIL (the machine has 2 cores: what the flush does with
the GIL released runs beside the spinner). Also timed: the writer's samplers (probes, context switches), once
a wake, and the flush's own CPU (thread time). The spinner's estimate is noisy on a shared machine: repeat it,
and compare two checkouts run in turn.

    .venv/bin/python bench/bench_writer_gil.py            # this checkout
    DIR/.venv/bin/python bench/bench_writer_gil.py        # another checkout's recorder (DIR: git archive main)
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable

from tracer.record.net import accept_queue_length
from tracer.record.recorder import Recorder

EVENTS = 10_400
SECONDS = 3.0


def spin_rate(work: Callable[[], int], seconds: float) -> tuple[float, int]:
    """The spinner's turns a second while ``work`` runs over and over in this thread; how many times it ran."""
    stop = threading.Event()
    turns: list[int] = []

    def spinner() -> None:
        n = 0
        while not stop.is_set():
            n += 1
        turns.append(n)

    t = threading.Thread(target=spinner)
    t.start()
    start = time.perf_counter()
    ran = 0
    while time.perf_counter() - start < seconds:
        ran += work()
    stop.set()
    t.join()
    return turns[0] / (time.perf_counter() - start), ran


def main() -> int:
    folder = tempfile.mkdtemp()
    rec = Recorder(os.path.join(folder, "r.jsonl"), flush_interval=3600, sample_interval=3600)
    for lane in range(11):
        rec._decls.append('{"lane": %d, "name": "x", "native_id": 1, "side": "server"}' % lane)
    emit = rec.emit
    recvs = [(123_456_789 + i * 9000, 3000, "recv", i % 11, i % 11 + 1, 78) for i in range(EVENTS // 2)]
    sends = [(123_456_789 + i * 9000 + 4000, 2000, "send", i % 11, i % 11 + 1, 287) for i in range(EVENTS // 2)]

    def emit_batch() -> None:
        for a, b in zip(recvs, sends, strict=True):
            emit(a)
            emit(b)

    def flushed() -> int:
        emit_batch()
        rec.counter("queue", 0)
        rec.flush()
        return 1

    def dropped() -> int:
        emit_batch()
        if rec.tap is not None:
            rec.tap.take(-1, lambda ev: "")
        else:
            rec._events.clear()
        return 1

    def idle() -> int:
        time.sleep(0.001)
        return 0

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(10)
    rec.add_probe("threads", threading.active_count)
    rec.add_probe("queue", lambda: 0)
    rec.add_probe("backlog", lambda: accept_queue_length(server))
    start = time.perf_counter_ns()
    for _ in range(10_000):
        rec.sample_probes()
        rec.sample_context_switches()
    samplers_us = (time.perf_counter_ns() - start) / 10_000 / 1e3
    rec.flush()
    cpu = []
    for _ in range(200):  # the flush's own CPU (thread time: GIL held or not), the steadier number on a busy machine
        emit_batch()
        rec.counter("queue", 0)
        start = time.thread_time_ns()
        rec.flush()
        cpu.append(time.thread_time_ns() - start)
    cpu_us = sorted(cpu)[len(cpu) // 2] / 1e3
    base, _ = spin_rate(idle, SECONDS)
    emitting, emits = spin_rate(dropped, SECONDS)
    flushing, flushes = spin_rate(flushed, SECONDS)
    held_emit = (1 - emitting / base) * SECONDS / emits * 1e6
    held_flush = (1 - flushing / base) * SECONDS / flushes * 1e6 - held_emit
    rec.close()
    server.close()
    print(f"{'C' if rec.tap is not None else 'Python'} queue, {EVENTS} events a batch, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"flush: GIL held ~{held_flush:.0f} us a batch = {held_flush * 20 / 1e3:.1f} ms a second at 20 flushes/s "
          f"({flushes} batches)")
    print(f"flush: CPU {cpu_us:.0f} us a batch (median of 200), {cpu_us * 20 / 1e3:.1f} ms a second")
    print(f"samplers (probes + context switches): {samplers_us:.1f} us a wake = "
          f"{samplers_us * 20 / 1e3:.2f} ms a second at 20 wakes/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
