import socket
import threading


def work():
    a, b = socket.socketpair()
    a.sendall(b"hi")
    b.recv(2)

threads = [threading.Thread(target=work, name="worker") for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
