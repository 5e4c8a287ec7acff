"""Python aiohttp peer (Debian's python3-aiohttp), run with /usr/bin/python3.

JSON is dumped without spaces so the body has the same bytes as the other peers'.
Usage: /usr/bin/python3 aiohttp_server.py PORT
"""

import asyncio
import functools
import json
import sys

from aiohttp import web

dumps = functools.partial(json.dumps, separators=(",", ":"))


async def hello(request: web.Request) -> web.Response:
    return web.Response(text=f"Hello, {request.match_info['name']}")


async def json_route(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, World!"}, dumps=dumps)


async def main(port: int) -> None:
    app = web.Application()
    app.router.add_get("/hello/{name}", hello)
    app.router.add_get("/json", json_route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
