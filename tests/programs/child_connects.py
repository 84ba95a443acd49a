"""A server whose clients are its own children: one made by os.fork, one a multiprocessing worker (fork)."""

import multiprocessing
import os
import socket


def connect(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"from a worker")
    return "worker ok"


if __name__ == "__main__":
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"from the child")
        os._exit(0)
    conn, _ = server.accept()
    print(conn.recv(100).decode())
    conn.close()
    os.waitpid(pid, 0)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        answer = pool.apply_async(connect, (port,))
        conn, _ = server.accept()
        print(conn.recv(100).decode())
        conn.close()
        print(answer.get(5))
    server.close()
