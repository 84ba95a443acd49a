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
    <h1>马哥教育www.magedu.com -- Multithread Pool</h1>
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

{}""".format(len(html), html).encode()

from concurrent.futures import ThreadPoolExecutor

count = 10
executor = ThreadPoolExecutor(count)
# executor = ThreadPoolExecutor(max_workers=count)

def accept(server):
    # i = 1
    while True:
        conn, raddr = server.accept()
        # threading.Thread(target=recv, name="recv-{}".format(i), args=(conn, raddr)).start()
        # i += 1
        executor.submit(recv, conn, raddr)


def recv(conn: socket.socket, raddr):
    try:
        data = conn.recv(4096)
        if not data:
            print(raddr, 'bye~~~')
            return
        # print(data)
        conn.send(response)
    except Exception as e:
        print(e, '~~~~')


if __name__ == '__main__':
    server = socket.socket()
    laddr = ('0.0.0.0', 9999)
    server.bind(laddr)
    server.listen(1024)
    # threading.Thread(target=accept, name="accept", args=(server,), daemon=True).start()
    executor.submit(accept, server)

    while True:
        time.sleep(60)
        print(threading.active_count())
