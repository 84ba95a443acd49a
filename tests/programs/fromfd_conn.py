"""A server that serves an accepted connection through a second socket made on its descriptor (socket.fromfd),
closing the first one before it; and a sock.dup() of the client's."""

import socket
import threading

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
port = server.getsockname()[1]


def client() -> None:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    twin = c.dup()
    c.close()  # the connection stays open: twin holds it
    twin.sendall(b"hello")
    print("client got", twin.recv(10).decode(), flush=True)
    twin.close()


t = threading.Thread(target=client, name="cli")
t.start()
conn, _ = server.accept()
served = socket.fromfd(conn.fileno(), socket.AF_INET, socket.SOCK_STREAM)
conn.close()  # served holds the connection now
served.sendall(served.recv(10).upper())
served.close()
t.join()
server.close()
