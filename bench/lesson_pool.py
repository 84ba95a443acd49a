"""The lesson's pool server (servers/lesson/pool_server.py) made to serve a keep-alive load, for bench_recorder.py.

Two changes, marked: recv loops until the client goes (the lesson answers
once), and the response's lines end in CRLF (HTTP clients such as wrk want
them).  ``count`` is one more than ``LESSON_POOL_WORKERS`` (default 10), as
the lesson spends a worker on the accept loop.
"""
import os
import threading
import time
import socket

html = """\
<!DOCTYPE html>
<html lang="en">

<head>
    <meta charset="UTF-8">
    <title>magedu</title>
</head>
<body>
    <h1>www.magedu.com -- Multithread Pool</h1>
</body>
</html>\
"""

response = """\
HTTP/1.1 200 OK
Date: Mon, 24 Oct 2022 20:04:23 GMT
Content-Type: text/html
Content-Length: {}
Connection: keep-alive
Server: wayne.magedu.com

{}""".format(len(html), html).replace("\n", "\r\n", 7).encode()  # changed: CRLF

from concurrent.futures import ThreadPoolExecutor

count = int(os.environ.get("LESSON_POOL_WORKERS", "10")) + 1
executor = ThreadPoolExecutor(count)


def accept(server):
    while True:
        conn, raddr = server.accept()
        executor.submit(recv, conn, raddr)


def recv(conn: socket.socket, raddr):
    try:
        while True:  # changed: keep-alive, until the client goes
            data = conn.recv(4096)
            if not data:
                return
            conn.send(response)
    except Exception as e:
        print(e, '~~~~')


if __name__ == '__main__':
    server = socket.socket()
    laddr = ('0.0.0.0', 9999)
    server.bind(laddr)
    server.listen(1024)
    executor.submit(accept, server)

    while True:
        time.sleep(60)
        print(threading.active_count())
