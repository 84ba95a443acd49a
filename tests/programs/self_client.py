"""A server that tests itself: it listens, a thread serves, and the main thread connects to it twice (its lane
listened first: a server's lane); then a thread whose first call is connect (a client's lane of its own)."""

import socket
import threading

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(5)
port = server.getsockname()[1]


def serve() -> None:
    for _ in range(3):
        conn, _addr = server.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())


def ask(word: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(word)
        print(sock.recv(100).decode(), flush=True)


serving = threading.Thread(target=serve, name="server")
serving.start()
ask(b"one")
ask(b"two")
asker = threading.Thread(target=ask, args=(b"three",), name="asker")
asker.start()
asker.join()
serving.join()
server.close()
