"""Where a server listens, in every family the lesson lists: IPv4, IPv6 and Unix socket paths.

An :data:`Address` is what ``connect()`` takes: ``(host, port)`` for
``AF_INET``/``AF_INET6`` (the family follows the host: an IPv6 literal has a
``:``), or a path ``str`` for ``AF_UNIX``.  It is written as text in one way
everywhere (the recording's details, the clients' command line, the
"listening on" line): ``127.0.0.1:8000``, ``[::1]:8000``, ``unix:/tmp/s.sock``.

A recording joins a client's ``connect`` to the server's ``accept`` by the
address the two ends share (:func:`join_key`).  For TCP that is the client's
port.  A Unix socket client has no port and is usually unnamed (its peer
address is ``''``), so every client of one path looks the same to the server;
the scenario clients therefore ask Linux for a unique abstract name first
(:func:`autobind`, ``@7b1ca``), which the server's ``accept`` sees.  The
details name both: ``unix:/tmp/s.sock from @7b1ca``.  Unnamed peers are not
joined (there is nothing to join them by).

The checks here (:func:`listen_host`, :func:`check_unix_path`) run before any
process starts, so a bad ``--host`` or ``--unix`` is one line; the server's
own process runs :func:`prepare_unix_path` right before it binds.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import stat
import sys
from typing import TypeAlias

from tracer.errors import ServerError, UsageError
from tracer.locale import _

Address: TypeAlias = tuple[str, int] | str  # (host, port), or a Unix socket's path

UNIX = "unix:"


def unix_supported() -> bool:
    """Whether this Python has ``AF_UNIX`` (some Windows builds do not)."""
    return hasattr(socket, "AF_UNIX")


def unix_path_limit() -> int:
    """The longest Unix socket path ``bind()`` takes, in bytes.

    ``sun_path`` is 108 bytes on Linux and 104 on macOS and the BSDs, one of
    them the terminating NUL: 107 and 103.
    """
    return 107 if sys.platform.startswith("linux") else 103


def family(address: Address) -> int:
    """The socket family that reaches ``address``.

    Raises:
        UsageError: a path, where this Python has no ``AF_UNIX``.
    """
    if isinstance(address, str):
        if not unix_supported():
            raise UsageError(_("{address}: this Python has no Unix sockets (AF_UNIX)").format(address=show(address)))
        return socket.AF_UNIX  # type: ignore[no-any-return, attr-defined, unused-ignore]
    return socket.AF_INET6 if ":" in address[0] else socket.AF_INET


def show(address: Address) -> str:
    """``127.0.0.1:8000``, ``[::1]:8000`` or ``unix:/tmp/s.sock``; :func:`parse` reads it back."""
    if isinstance(address, str):
        return UNIX + address
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse(text: str) -> Address:
    """The address :func:`show` wrote (``HOST:PORT``, ``[V6]:PORT``, ``unix:PATH``).

    Raises:
        ValueError: anything else, saying what was expected.
    """
    if text.startswith(UNIX):
        if not text[len(UNIX):]:
            raise ValueError(_("expected a path after 'unix:'"))
        return text[len(UNIX):]
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError(_("expected HOST:PORT, [IPV6]:PORT or unix:PATH, got {text!r}").format(text=text))
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(_("expected [IPV6]:PORT, got {text!r}").format(text=text))
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(_("an IPv6 address needs brackets: [{host}]:{port}").format(host=host, port=port))
    return host, int(port)


def url(address: Address) -> str:
    """What a browser or curl is given: ``http://[::1]:8000/``; for a path, curl's ``--unix-socket``."""
    if isinstance(address, str):
        return f"curl --unix-socket {address} http://localhost/"
    return f"http://{show(address)}/"


def sockaddr_text(addr: object) -> str:
    """A socket address as Python gives it, as text: ``host:port``, ``[v6]:port``, a path, ``@abstract``, or ``''``."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        return show((str(addr[0]), int(addr[1])))
    if isinstance(addr, bytes):  # Linux's abstract names start with a NUL
        return "@" + addr[1:].decode("utf-8", "backslashreplace") if addr[:1] == b"\0" else os.fsdecode(addr)
    return str(addr)


def unix_detail(path: object, peer: object) -> str:
    """An ``accept``/``connect`` detail on a Unix socket: ``unix:PATH``, plus ``from NAME`` for a named client."""
    name = sockaddr_text(peer)
    return UNIX + sockaddr_text(path) + (f" from {name}" if name else "")


def join_key(detail: object) -> str | None:
    """What joins a client's ``connect`` detail to the server's ``accept`` detail; None: nothing to join by."""
    if not isinstance(detail, str):
        return None
    if detail.startswith(UNIX):
        _head, sep, name = detail.rpartition(" from ")
        return UNIX + name if sep and name else None
    return detail if ":" in detail else None


def autobind(sock: socket.socket) -> None:
    """Give a Unix socket client a unique abstract name (Linux), so the server's ``accept`` can tell it apart."""
    if sys.platform.startswith("linux"):
        sock.bind("")  # an empty name: the kernel picks one, "\0" and five hex digits


# ---------------------------------------------------------------- checks before anything starts
def listen_host(host: str) -> str:
    """``host`` as a server binds it: brackets off an IPv6 literal; a name must resolve.

    A name that resolves to IPv6 addresses only (``ip6-localhost``) is
    replaced by its first, so the server makes the one socket that can bind it.

    Raises:
        UsageError: a name that does not resolve, or malformed brackets.
    """
    if host.startswith("[") or host.endswith("]"):
        if not (host.startswith("[") and host.endswith("]")) or ":" not in host:
            raise UsageError(_("--host: expected an address such as 127.0.0.1, ::1 or [::1], got {host!r}").format(
                host=host))
        host = host[1:-1]
    if host == "" or _literal(host):
        return host
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise UsageError(_("--host: cannot find the address of {host!r} ({why})").format(host=host, why=why)) from None
    if any(f[0] == socket.AF_INET for f in found):
        return host  # binds as before: AF_INET resolves the name itself
    return str(next(f[4][0] for f in found if f[0] == socket.AF_INET6))


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Whether ``host`` (``127.0.0.1``, ``::1``, ``[::1]``, ``localhost``) is this machine only."""
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_unix_path(path: str) -> None:
    """Refuse a ``--unix`` path that no server could bind, before any process starts.

    Raises:
        UsageError: no AF_UNIX here, an empty path, one over the OS's limit,
            a missing folder, or a file there that is not a socket.
    """
    if not unix_supported():
        raise UsageError(_("--unix: this Python has no Unix sockets (AF_UNIX); use --host and --port"))
    if not path:
        raise UsageError(_("--unix needs a path, such as /tmp/sockscope.sock"))
    size = len(os.fsencode(path))
    if size > unix_path_limit():
        raise UsageError(_("--unix: the path is {size} bytes, over the {limit} a socket path may have "
                           "here; use a shorter one, such as /tmp/sockscope.sock").format(size=size,
                                                                                         limit=unix_path_limit()))
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(_("--unix: the folder {folder} does not exist").format(folder=folder))
    _not_another_file(path, UsageError)


def _not_another_file(path: str, error: type[UsageError] | type[ServerError]) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(_("--unix: cannot look at {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    if not stat.S_ISSOCK(mode):
        raise error(_("--unix: {path} exists and is not a socket; it is left alone: choose another path").format(
            path=path))


def prepare_unix_path(path: str) -> None:
    """Make ``path`` free to bind: a stale socket file (its server gone) is removed; anything else is refused.

    A socket file whose server still accepts is another server's: connecting
    to it tells the two apart (a stale one refuses the connection).

    Raises:
        ServerError: a file there that is not a socket, or a server listening on it.
    """
    _not_another_file(path, ServerError)
    if not os.path.lexists(path):
        return
    probe = socket.socket(socket.AF_UNIX)  # type: ignore[attr-defined, unused-ignore]
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise ServerError(_("--unix: cannot tell whether {path} is in use: {why}").format(
                path=path, why=exc.strerror or exc)) from None
    else:
        raise ServerError(_("--unix: another server is listening on {path}").format(path=path))
    finally:
        probe.close()
    try:
        os.unlink(path)  # stale: its server is gone
    except FileNotFoundError:
        pass  # removed meanwhile: free all the same
    except OSError as exc:
        raise ServerError(_("--unix: cannot remove the stale socket {path}: {why}").format(
            path=path, why=exc.strerror or exc)) from None


def socket_identity(path: str) -> tuple[int, int] | None:
    """``(device, inode)`` of the socket file at ``path``, to remove only our own at the end."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISSOCK(st.st_mode) else None


def remove_socket_file(path: str, identity: tuple[int, int] | None) -> None:
    """Remove the socket file a stopping server bound, unless another has replaced it since."""
    if identity is not None and socket_identity(path) == identity:
        try:
            os.unlink(path)
        except OSError:
            pass  # gone already, or the folder turned read-only: nothing left of ours to clean
