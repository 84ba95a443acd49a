"""An asyncio streams server: one thread, its loop waiting in select."""
import asyncio


async def echo(reader, writer):
    asyncio.get_running_loop().call_soon_threadsafe(print, "connected")  # wakes the loop through its self-pipe
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 9999)
    async with server:
        await server.serve_forever()


asyncio.run(main())
