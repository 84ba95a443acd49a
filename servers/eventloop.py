"""asyncio: one thread, an event loop, a coroutine per connection.

Written with the loop's socket methods (``sock_accept``, ``sock_recv``,
``sock_sendall``) so the socket calls stay in plain sight; the loop waits for
all of them at once in its selector's ``select()``.  A coroutine that blocks
instead of awaiting (``--work-ms``, ``--cpu-ms``) freezes every client.
"""

from __future__ import annotations

import asyncio

from servers import Settings
from servers.protocol import BadRequest, error_response, page, parse_request, response

TITLE = "asyncio event loop"


async def handle(net, loop, conn, cfg: Settings) -> None:
    body = page(TITLE)
    buf = b""
    with conn:
        while True:
            try:
                request, used = parse_request(buf)
            except BadRequest as bad:
                await loop.sock_sendall(conn, error_response(bad))
                return
            if request is None:
                try:
                    data = await asyncio.wait_for(loop.sock_recv(conn, 4096), cfg.timeout)
                except asyncio.TimeoutError:
                    conn.why = "timeout"  # the traced socket records it as the close reason
                    return
                except OSError:  # reset by the peer
                    return
                if not data:
                    return
                buf += data
                continue
            buf = buf[used:]
            net.work(cfg.work_ms, cfg.cpu_ms, conn)  # blocks the loop: every client waits
            try:
                await loop.sock_sendall(conn, response(200, body, keep_alive=request.keep_alive,
                                                       head=request.method == "HEAD"))
            except OSError:
                return
            if not request.keep_alive:
                return


async def main(net, cfg: Settings) -> None:
    server = net.socket(cfg.family)
    server.bind(cfg.address)
    server.listen(cfg.backlog)
    server.setblocking(False)
    loop = asyncio.get_running_loop()
    tasks = set()
    while True:
        conn, raddr = await loop.sock_accept(server)
        conn.setblocking(False)
        task = loop.create_task(handle(net, loop, conn, cfg))
        tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(tasks.discard)


def serve(net, cfg: Settings) -> None:
    loop = asyncio.SelectorEventLoop(net.DefaultSelector())
    try:
        loop.run_until_complete(main(net, cfg))
    finally:  # Ctrl-C: every coroutine is cancelled and run to its end, so each `with conn:` closes its socket
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(finish(tasks))
        loop.close()


async def finish(tasks) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)
