"""A student's thread-per-connection server that keeps connections open: what `sockscope bench --program` measures.

Answers every request on a connection (HTTP/1.1 keep-alive) until the client closes it.
It binds port 8000 as a student would; `sockscope run --port 0` (the bench) moves it to a free one.
"""

import socket
import threading

BODY = b"hello from a student's server\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(BODY), BODY)


def serve(conn):
    with conn:
        pending = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            pending += data
            while b"\r\n\r\n" in pending:
                _, pending = pending.split(b"\r\n\r\n", 1)
                conn.sendall(RESPONSE)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8000))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
