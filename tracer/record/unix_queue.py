"""The accept queue of a listening Unix socket (Linux), read the way ``ss -xl`` reads it.

A Unix socket has no ``TCP_INFO`` (``getsockopt`` fails with EOPNOTSUPP), so
the TCP probe in :mod:`tracer.record.net` cannot see its queue.  Linux's
``sock_diag`` netlink interface can: asked about one socket by its inode with
``UDIAG_SHOW_RQLEN``, it answers for a listening socket how many connections
wait to be accepted (``udiag_rqueue``; ``udiag_wqueue`` is the backlog limit).
One request and one reply on a netlink socket kept open; it runs on the
recorder's writer thread, never in a server's call.  Elsewhere (macOS,
Windows, a kernel without ``unix_diag``) the queue is not sampled and the
recording's header says so (``"backlog": false``).
"""

from __future__ import annotations

import functools
import os
import socket
import struct
import sys

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
UDIAG_SHOW_RQLEN = 0x10
UNIX_DIAG_RQLEN = 4
NO_COOKIE = 0xFFFFFFFF  # INET_DIAG_NOCOOKIE: any socket with this inode

_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: len, type, flags, seq, pid
_REQUEST = struct.Struct("=BBHIIIII")  # struct unix_diag_req: family, protocol, pad, states, ino, show, cookie[2]
_MESSAGE_SIZE = 16  # struct unix_diag_msg: family, type, state, pad, ino, cookie[2]
_ATTR = struct.Struct("=HH")  # struct nlattr: len, type


class UnixQueueProbe:
    """``probe()`` is the number of connections waiting in ``sock``'s accept queue.

    Raises (from a call):
        OSError: the socket is gone (closed at shutdown) or the kernel refused.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._ino = os.fstat(sock.fileno()).st_ino
        self._nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)  # type: ignore[attr-defined, unused-ignore]
        self._nl.settimeout(1.0)
        self._seq = 0

    def __call__(self) -> int:
        self._seq += 1
        req = _REQUEST.pack(socket.AF_UNIX, 0, 0, 0xFFFFFFFF, self._ino,  # type: ignore[attr-defined, unused-ignore]
                            UDIAG_SHOW_RQLEN, NO_COOKIE, NO_COOKIE)
        self._nl.send(_HEADER.pack(_HEADER.size + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, self._seq, 0) + req)
        for _ in range(8):  # a late reply to an earlier request that timed out is skipped, boundedly
            found = self._parse(self._nl.recv(8192))
            if found is not None:
                return found
        raise OSError("no sock_diag reply for this socket")

    def _parse(self, data: bytes) -> int | None:
        length, kind, _, seq, _ = _HEADER.unpack_from(data)
        if seq != self._seq:
            return None
        if kind == NLMSG_ERROR:
            code = -struct.unpack_from("=i", data, _HEADER.size)[0]
            raise OSError(code, os.strerror(code))
        at = _HEADER.size + _MESSAGE_SIZE
        while at + _ATTR.size <= min(length, len(data)):
            size, attr = _ATTR.unpack_from(data, at)
            if attr == UNIX_DIAG_RQLEN:
                return struct.unpack_from("=I", data, at + _ATTR.size)[0]  # type: ignore[no-any-return]
            if size < _ATTR.size:
                break
            at += (size + 3) & ~3
        raise OSError("the sock_diag reply has no queue length")

    def close(self) -> None:
        self._nl.close()


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether this system answers ``sock_diag`` about Unix sockets (asked once, about a socket of our own)."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "AF_NETLINK") or not hasattr(socket, "AF_UNIX"):
        return False
    try:
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind("")  # an abstract name: no file to clean up
            listener.listen(1)
            probe = UnixQueueProbe(listener)
            try:
                return probe() == 0
            finally:
                probe.close()
    except OSError:
        return False
