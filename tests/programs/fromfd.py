import socket

a, b = socket.socketpair()
c = socket.fromfd(a.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
c.sendall(b"hello")
print(b.recv(5))
