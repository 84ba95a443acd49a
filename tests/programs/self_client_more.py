"""A server's threads as clients, the harder ways (review of the self-connect lanes): a twin (dup) of a client
socket, recvfrom on one, a socket connected by a client-only thread and used by a server thread, a non-blocking
connect_ex, and a thread whose first call is a refused connect (a port probe) that then serves."""

import errno
import selectors
import socket
import threading

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
port = server.getsockname()[1]


def serve(n: int) -> None:
    for _ in range(n):
        conn, _addr = server.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())


serving = threading.Thread(target=serve, args=(4,), name="server")
serving.start()

# a twin of the main thread's client socket (the main thread listened first: a server's lane)
with socket.create_connection(("127.0.0.1", port)) as first, first.dup() as twin:
    twin.sendall(b"dup")
    print(twin.recv(100).decode(), flush=True)

# recvfrom on a client socket
with socket.create_connection(("127.0.0.1", port)) as sock:
    sock.sendall(b"recvfrom")
    print(sock.recvfrom(100)[0].decode(), flush=True)

# connected by a thread that only connects, then used and closed by the main thread
made: list[socket.socket] = []
connector = threading.Thread(target=lambda: made.append(socket.create_connection(("127.0.0.1", port))),
                             name="connector")
connector.start()
connector.join()
made[0].sendall(b"shared")
print(made[0].recv(100).decode(), flush=True)
made[0].close()

# a non-blocking connect_ex, as a selectors program makes one
sel = selectors.DefaultSelector()
nb = socket.socket()
nb.setblocking(False)
assert nb.connect_ex(("127.0.0.1", port)) in (0, errno.EINPROGRESS)
sel.register(nb, selectors.EVENT_WRITE)
sel.select(5)
nb.sendall(b"nonblocking")
sel.modify(nb, selectors.EVENT_READ)
sel.select(5)
print(nb.recv(100).decode(), flush=True)
sel.unregister(nb)
nb.close()
serving.join()


def probe_then_serve() -> None:
    """Its first call is a connect, refused: the port is free; then it listens there and serves one client."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    with socket.socket() as tried:
        try:
            tried.connect(("127.0.0.1", free))
        except ConnectionRefusedError:
            pass
    with socket.socket() as second:
        second.bind(("127.0.0.1", free))
        second.listen(1)
        where.append(free)
        ready.set()
        conn, _addr = second.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())


ready = threading.Event()
where: list[int] = []
prober = threading.Thread(target=probe_then_serve, name="prober")
prober.start()
ready.wait(5)
with socket.create_connection(("127.0.0.1", where[0])) as sock:
    sock.sendall(b"probed")
    print(sock.recv(100).decode(), flush=True)
prober.join()
server.close()
