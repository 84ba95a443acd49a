"""A thread per connection done right: keep-alive, 400 for garbage, close() on every way out."""

import socket
import threading

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def parse(buf):
    """(reply or None, the rest of buf, close after?)"""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > 8192 or (buf and not buf[:1].isalpha()):
            return BAD, b"", True
        return None, buf, False
    lines = buf[:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if (len(parts) != 3 or parts[0] not in (b"GET", b"HEAD") or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1")
            or any(c < 33 or c > 126 for c in parts[1]) or any(b":" not in h for h in lines[1:])):
        return BAD, b"", True
    return OK, buf[end + 4:], b"connection: close" in buf[:end].lower()


def serve(conn, keep):
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            break
        buf += data
        reply, buf, close = parse(buf)
        while reply is not None:
            conn.sendall(reply)
            if close:
                return
            reply, buf, close = parse(buf)


def handle(conn, keep):
    try:
        serve(conn, keep)
    except OSError:
        pass
    finally:
        if keep is None:
            conn.close()
        else:
            keep.append(conn)  # never closed: held open for good


def main(keep=None):
    server = socket.socket()
    server.bind(("127.0.0.1", 9999))
    server.listen(128)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn, keep), daemon=True).start()


if __name__ == "__main__":
    main()
