"""Connects to a port nobody listens on, from a thread and then from the main thread: two tracebacks."""

import socket
import threading

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()  # nobody listens there now


def worker() -> None:
    s = socket.socket()
    s.connect(("127.0.0.1", port))


t = threading.Thread(target=worker, name="client")
t.start()
t.join()
socket.create_connection(("127.0.0.1", port), timeout=5)
