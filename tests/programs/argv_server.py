"""Writes its own arguments (after the first, a file name) to that file as JSON, then answers HTTP until stopped."""

import json
import socket
import sys

with open(sys.argv[1], "w") as f:
    json.dump(sys.argv[2:], f)

server = socket.create_server(("127.0.0.1", 8000))
while True:
    conn, _ = server.accept()
    with conn:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
