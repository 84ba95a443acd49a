"""A selectors server whose handler sleeps 40 ms inside the event loop (as if on a database): everyone waits."""

import selectors
import socket
import time

from correct_thread import parse

sel = selectors.DefaultSelector()
server = socket.socket()
server.bind(("127.0.0.1", 9999))
server.listen(128)
server.setblocking(False)
sel.register(server, selectors.EVENT_READ)
buffers = {}


def close(conn):
    sel.unregister(conn)
    buffers.pop(conn, None)
    conn.close()


while True:
    for key, _ in sel.select():
        if key.fileobj is server:
            conn, _ = server.accept()
            conn.setblocking(False)
            buffers[conn] = b""
            sel.register(conn, selectors.EVENT_READ)
            continue
        conn = key.fileobj
        try:
            data = conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            close(conn)
            continue
        reply, buffers[conn], shut = parse(buffers[conn] + data)
        while reply is not None:
            time.sleep(0.04)  # the blocking call: the whole loop stops here
            conn.setblocking(True)
            conn.sendall(reply)
            conn.setblocking(False)
            if shut:
                break
            reply, buffers[conn], shut = parse(buffers[conn])
        if shut:
            close(conn)
