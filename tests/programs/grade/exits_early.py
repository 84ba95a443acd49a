"""Serves 25 connections right, then exits: a server that ends mid-grade."""

import socket
import threading

from correct_thread import handle

server = socket.socket()
server.bind(("127.0.0.1", 9999))
server.listen(128)
threads = []
for _ in range(25):
    conn, _ = server.accept()
    t = threading.Thread(target=handle, args=(conn, None))
    t.start()
    threads.append(t)
for t in threads:
    t.join()
