"""Python aiohttp WebSocket peer (Debian's python3-aiohttp), run with /usr/bin/python3.

The same echo handler as bench/servers/ws-aiohttp-ts.mjs: text back as text, binary as binary.
Usage: /usr/bin/python3 ws_aiohttp_server.py PORT
"""

import asyncio
import sys

from aiohttp import WSMsgType, web


async def echo(request: web.Request) -> web.WebSocketResponse:
    # compress keeps its default (True); the bench's clients do not offer permessage-deflate.
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def main(port: int) -> None:
    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
