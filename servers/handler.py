"""What every blocking-IO server does with one connection.

``serve_connection`` is the corrected handler: HTTP/1.1 keep-alive until the
client closes or asks to close, an idle timeout, errors answered and closed.
``lesson_recv`` is the lesson's handler as written: one ``recv``, one ``send``,
no ``close``.
"""

from __future__ import annotations

import socket
from typing import Any

from servers import Settings
from servers.protocol import BadRequest, error_response, lesson_response, page, parse_request, response


def serve_connection(net: Any, conn: socket.socket, raddr: Any, cfg: Settings, title: str) -> None:
    """Serve HTTP requests on ``conn`` until the client is done, then close it."""
    body = page(title)
    buf = b""
    with conn:  # close() on every way out; the traced socket knows why
        conn.settimeout(cfg.timeout)
        while True:
            try:
                request, used = parse_request(buf)
            except BadRequest as bad:
                _send_quietly(conn, error_response(bad))
                return
            if request is None:
                try:
                    data = conn.recv(4096)
                except OSError:  # reset by the peer, or idle past the timeout
                    return
                if not data:
                    return
                buf += data
                continue
            buf = buf[used:]
            net.work(cfg.work_ms, cfg.cpu_ms, conn)
            reply = response(200, body, keep_alive=request.keep_alive, head=request.method == "HEAD")
            if not _send_quietly(conn, reply) or not request.keep_alive:
                return


def _send_quietly(conn: socket.socket, data: bytes) -> bool:
    """Send ``data``; False when the client has gone (the socket noted why)."""
    try:
        conn.sendall(data)
    except OSError:
        return False
    return True


def lesson_recv(title: str) -> Any:
    """The lesson's ``recv(conn, raddr)``, as written, serving ``title``'s page."""
    reply = lesson_response(title)

    def recv(conn: socket.socket, raddr: Any) -> None:
        try:
            data = conn.recv(4096)
            if not data:
                print(raddr, "bye~~~")
                return
            conn.send(reply)
        except OSError as e:  # the lesson catches Exception; OSError is what a socket raises
            print(e, "~~~~")

    return recv
