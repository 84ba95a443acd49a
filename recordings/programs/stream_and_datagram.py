"""TCP is a byte stream, UDP keeps datagrams (lesson 16): three small messages sent at once to each.

One program, four threads, so both protocols share one timeline:

- ``tcp-server`` accepts one connection and reads with ``recv(1024)`` until end-of-file;
- ``udp-server`` reads with ``recvfrom(1024)`` until it has three datagrams;
- ``client`` sends the same three 5-byte messages (``one;``, ``two;``, ``six;`` plus a newline)
  to each, one ``send``/``sendto`` apiece, then closes.

Both servers start reading only once the client has sent all three (an Event, as a busy
server would be late): the TCP server's first recv then returns all 15 bytes run together,
because TCP keeps no message boundaries; the UDP server needs three recvfrom, 5 bytes each,
because every datagram is delivered whole.  Record it with
``sockscope run -o recordings/tcp-stream-udp-datagrams.jsonl recordings/programs/stream_and_datagram.py``.
"""

import socket
import threading

MESSAGES = [b"one;\n", b"two;\n", b"six;\n"]
sent = threading.Event()


def tcp_server(server):
    conn, addr = server.accept()
    sent.wait(5)
    while True:
        data = conn.recv(1024)
        if not data:
            break
        print("tcp recv {} bytes: {!r}".format(len(data), data))
    conn.close()
    server.close()


def udp_server(server):
    sent.wait(5)
    for _ in MESSAGES:
        data, addr = server.recvfrom(1024)
        print("udp recvfrom {} bytes: {!r}".format(len(data), data))
    server.close()


def client(tcp_addr, udp_addr):
    tcp = socket.create_connection(tcp_addr)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for message in MESSAGES:
        tcp.send(message)
        udp.sendto(message, udp_addr)
    sent.set()
    tcp.close()
    udp.close()


tcp = socket.socket()
tcp.bind(("127.0.0.1", 0))
tcp.listen()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))

threads = [threading.Thread(target=tcp_server, args=(tcp,), name="tcp-server"),
           threading.Thread(target=udp_server, args=(udp,), name="udp-server"),
           threading.Thread(target=client, args=(tcp.getsockname(), udp.getsockname()), name="client")]
for t in threads:
    t.start()
for t in threads:
    t.join()
