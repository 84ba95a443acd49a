"""A ThreadPoolExecutor serves the connections (the lesson's "Multithread Pool").

Corrected: the main thread runs the accept loop and submits each connection to
a pool of ``cfg.workers`` threads.  As taught (``--as-taught``): the accept loop
itself is submitted to the pool, so it occupies one of the workers for good.
"""

from __future__ import annotations

import time

from servers import Settings
from servers.handler import lesson_recv, serve_connection

TITLE = "Multithread Pool"


def serve(net, cfg: Settings) -> None:
    executor = net.ThreadPoolExecutor(cfg.workers)

    def accept(server):
        recv = lesson_recv(TITLE)
        while True:
            conn, raddr = server.accept()
            executor.submit(recv, conn, raddr)

    server = net.socket(cfg.family)
    server.bind(cfg.address)
    server.listen(cfg.backlog)
    if cfg.as_taught:
        executor.submit(accept, server)  # the lesson's line: a worker spent on accept
        while True:
            time.sleep(60)
    while True:
        conn, raddr = server.accept()
        executor.submit(serve_connection, net, conn, raddr, cfg, TITLE)
