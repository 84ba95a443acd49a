"""The lesson's first server: one thread, one connection at a time.

As taught, it is the lesson's program exactly: accept one client, recv once,
answer ``Hello magedu.com``, close, and exit.  Corrected, the same steps run in
a loop and speak HTTP/1.1 keep-alive, so clients are served one after another.
"""

from __future__ import annotations

from servers import Settings
from servers.handler import serve_connection

TITLE = "Single thread, one connection at a time"


def serve(net, cfg: Settings) -> None:
    server = net.socket(cfg.family)  # socket()
    server.bind(cfg.address)  # bind
    server.listen(cfg.backlog)  # listen
    if cfg.as_taught:
        conn, raddr = server.accept()  # blocks until a client connects
        data = conn.recv(4096)
        print(conn.getpeername(), data)
        conn.send(b"Hello magedu.com")
        conn.close()
        server.close()
        return
    while True:
        conn, raddr = server.accept()  # blocks until a client connects
        serve_connection(net, conn, raddr, cfg, TITLE)  # recv/send ... close
