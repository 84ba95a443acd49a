"""A traced selector: each wait in ``select()`` is a ``select`` span.

``count`` is how many sockets were ready when it returned.  Used by the
``selectors`` server directly and by the ``asyncio`` server through
``asyncio.SelectorEventLoop(selector)``, so both show their one thread waiting
for many sockets at once.
"""

from __future__ import annotations

import selectors
from collections.abc import Mapping
from typing import Any

from tracer.record.recorder import Recorder


class TracedSelector(selectors.BaseSelector):
    """Wraps a real selector; only ``select`` is recorded."""

    def __init__(self, inner: selectors.BaseSelector, rec: Recorder, net: Any = None) -> None:
        self._inner = inner
        self._rec = rec
        self._net = net

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        net = self._net
        if net is not None and net.interrupt == "pending":  # a Ctrl-C in the event loop: here, between rounds
            net.interrupt = "raised"
            net.stopping = True
            raise KeyboardInterrupt
        rec = self._rec
        t = rec.clock()
        try:
            ready = self._inner.select(timeout)
        except KeyboardInterrupt:  # Ctrl-C while waiting: the wait happened, draw it
            rec.emit((t - rec.t0, rec.clock() - t, "select", rec.lane(), 0, 0))
            raise
        rec.emit((t - rec.t0, rec.clock() - t, "select", rec.lane(), 0, len(ready)))
        return ready

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()
