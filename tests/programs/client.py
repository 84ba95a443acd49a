"""A client program: connect, send, recv, close, from the main thread and two threads."""
import socket
import sys
import threading

host, port = sys.argv[1], int(sys.argv[2])


def get(i):
    s = socket.create_connection((host, port))
    s.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
    while s.recv(65536):
        pass
    s.close()


get(0)
threads = [threading.Thread(target=get, args=(i,), name="getter") for i in (1, 2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")
