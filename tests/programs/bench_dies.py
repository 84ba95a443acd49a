"""A student's server that dies mid-run: it answers its first connections, then exits (status 3) on the 5th."""

import os
import socket

server = socket.socket()
server.bind(("127.0.0.1", 8000))
server.listen(128)
for accepted in range(1, 1000):
    conn, _ = server.accept()
    if accepted == 5:
        os._exit(3)
    if conn.recv(4096):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    conn.close()
