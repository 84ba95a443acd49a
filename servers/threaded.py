"""Thread per connection with blocking IO (the lesson's "Multithread + Blocking IO").

An ``accept`` thread waits for connections and starts a new thread, named
``recv-1``, ``recv-2``, ..., for each; the main thread only waits.
"""

from __future__ import annotations

import time

from servers import Settings
from servers.handler import lesson_recv, serve_connection

TITLE = "Multithread + Blocking IO"


def serve(net, cfg: Settings) -> None:
    recv = lesson_recv(TITLE) if cfg.as_taught else None

    def accept(server):
        i = 1
        while True:
            conn, raddr = server.accept()
            if recv is not None:
                net.Thread(target=recv, name=f"recv-{i}", args=(conn, raddr)).start()
            else:
                net.Thread(target=serve_connection, name=f"recv-{i}", args=(net, conn, raddr, cfg, TITLE)).start()
            i += 1

    server = net.socket(cfg.family)
    server.bind(cfg.address)
    server.listen(cfg.backlog)
    net.Thread(target=accept, name="accept", args=(server,), daemon=True).start()
    while True:
        time.sleep(60)  # the lesson prints threading.active_count() here
