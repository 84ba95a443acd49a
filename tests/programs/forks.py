import os
import socket

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
pid = os.fork()
if pid == 0:
    a, b = socket.socketpair()
    a.sendall(b"x" * 10)
    b.recv(10)
    os._exit(0)
os.waitpid(pid, 0)
server.close()
print("parent done")
