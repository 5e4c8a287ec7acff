"""A Python aiohttp server for the multipart client tests (test/client/form-data.test.ts).

Usage: aiohttp_multipart_server.py   (binds 127.0.0.1 on a free port, prints "READY <port>")

POST /parts   reads the body with aiohttp's MultipartReader (or post() for urlencoded forms) and
              answers JSON: the framing headers and, per part, its headers, name, filename,
              size and sha256 (with ?decode=1, of the decoded content).
GET  /mixed   answers a multipart/mixed body written by aiohttp's MultipartWriter: a JSON part,
              1 MiB of 0..255 and a nested multipart/alternative.
"""

import asyncio
import hashlib
import sys

from aiohttp import MultipartWriter, web


async def parts(request):
    framing = {
        "content_length": request.headers.get("Content-Length"),
        "transfer_encoding": request.headers.get("Transfer-Encoding"),
        "content_type": request.headers.get("Content-Type"),
    }
    if request.content_type != "multipart/form-data":
        form = await request.post()
        return web.json_response({**framing, "form": [[k, v] for k, v in form.items()]})
    out = []
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        digest = hashlib.sha256()
        size = 0
        if request.query.get("decode"):
            # The content with its Content-Transfer-Encoding and Content-Encoding undone.
            data = await part.read(decode=True)
            digest.update(data)
            size = len(data)
        while True:
            chunk = await part.read_chunk(65536)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        out.append(
            {
                "headers": [[k, v] for k, v in part.headers.items()],
                "name": part.name,
                "filename": part.filename,
                "size": size,
                "sha256": digest.hexdigest(),
            }
        )
    return web.json_response({**framing, "parts": out})


async def mixed(request):
    with MultipartWriter("mixed") as mp:
        mp.append_json({"from": "python"})
        mp.append(bytes(i & 0xFF for i in range(1024 * 1024)))
        with MultipartWriter("alternative") as alt:
            alt.append("plain")
            alt.append("<b>html</b>", {"Content-Type": "text/html"})
        mp.append(alt)
    return web.Response(body=mp)


async def main():
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/parts", parts)
    app.router.add_get("/mixed", mixed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
