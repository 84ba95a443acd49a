"""IO multiplexing with ``selectors``: one thread serves every client.

The listening socket and every connection are non-blocking and registered with
a selector.  The one thread waits in ``select()`` until some of them are ready,
then accepts, reads or writes without ever blocking.  A handler that blocks
(``--work-ms``, ``--cpu-ms``) stops every client at once: that is the lesson.
"""

from __future__ import annotations

import selectors
import time

from servers import Settings
from servers.protocol import BadRequest, error_response, page, parse_request, response

TITLE = "IO multiplexing (selectors)"


class Client:
    """What one connection has received and has still to send."""

    def __init__(self, conn, raddr) -> None:
        self.conn = conn
        self.raddr = raddr
        self.inbox = b""
        self.outbox = b""
        self.closing = False
        self.last_active = time.monotonic()


def serve(net, cfg: Settings) -> None:
    selector = net.DefaultSelector()
    server = net.socket(cfg.family)
    server.bind(cfg.address)
    server.listen(cfg.backlog)
    server.setblocking(False)
    selector.register(server, selectors.EVENT_READ)
    body = page(TITLE)
    clients: dict[int, Client] = {}

    def accept() -> None:
        conn, raddr = server.accept()
        conn.setblocking(False)
        client = clients[conn.fileno()] = Client(conn, raddr)
        selector.register(conn, selectors.EVENT_READ, client)

    def close(client: Client, why: str | None = None) -> None:
        if why is not None:
            client.conn.why = why  # the traced socket records it as the close reason
        selector.unregister(client.conn)
        clients.pop(client.conn.fileno(), None)
        client.conn.close()

    def read(client: Client) -> None:
        try:
            data = client.conn.recv(4096)
        except OSError:  # reset by the peer
            return close(client)
        if not data:
            return close(client)
        client.last_active = time.monotonic()
        client.inbox += data
        while not client.closing:
            try:
                request, used = parse_request(client.inbox)
            except BadRequest as bad:
                client.outbox += error_response(bad)
                client.closing = True
                break
            if request is None:
                break
            client.inbox = client.inbox[used:]
            net.work(cfg.work_ms, cfg.cpu_ms, client.conn)  # blocks the whole loop
            client.outbox += response(200, body, keep_alive=request.keep_alive, head=request.method == "HEAD")
            client.closing = not request.keep_alive
        write(client)

    def write(client: Client) -> None:
        try:
            sent = client.conn.send(client.outbox) if client.outbox else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            return close(client)
        client.outbox = client.outbox[sent:]
        if client.outbox:  # the kernel's buffer is full: wait until it drains
            selector.modify(client.conn, selectors.EVENT_READ | selectors.EVENT_WRITE, client)
        elif client.closing:
            close(client)
        else:
            selector.modify(client.conn, selectors.EVENT_READ, client)

    def expire_idle() -> None:
        if cfg.timeout is None:
            return
        now = time.monotonic()
        for client in [c for c in clients.values() if now - c.last_active > cfg.timeout]:
            close(client, "timeout")

    try:
        while True:
            for key, mask in selector.select(timeout=None if cfg.timeout is None else min(1.0, cfg.timeout / 2)):
                if key.fileobj is server:
                    accept()
                elif key.data.conn.fileno() != -1:
                    if mask & selectors.EVENT_READ:
                        read(key.data)
                    if mask & selectors.EVENT_WRITE and key.data.conn.fileno() != -1:
                        write(key.data)
            expire_idle()
    finally:  # Ctrl-C: the clients still connected are closed too
        for client in list(clients.values()):
            close(client, "shutdown")
