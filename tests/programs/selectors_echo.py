"""A selectors server, as the lesson announces next: one thread, non-blocking sockets."""
import selectors
import socket

sel = selectors.DefaultSelector()


def accept(server):
    conn, raddr = server.accept()
    conn.setblocking(False)
    sel.register(conn, selectors.EVENT_READ, recv)


def recv(conn):
    data = conn.recv(4096)
    if data:
        conn.send(data.upper())
    else:
        sel.unregister(conn)
        conn.close()


server = socket.socket()
server.bind(("127.0.0.1", 9999))
server.listen()
server.setblocking(False)
sel.register(server, selectors.EVENT_READ, accept)
while True:
    for key, _mask in sel.select():
        key.data(key.fileobj)
