"""A UDP echo server: recvfrom/sendto, each datagram whole, the peer in the detail."""
import socket
import sys

server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("0.0.0.0", int(sys.argv[1]) if len(sys.argv) > 1 else 9999))
print("udp on", server.getsockname(), flush=True)
while True:
    data, raddr = server.recvfrom(4096)
    if data == b"bye":
        break
    server.sendto(data.upper(), raddr)
server.close()
