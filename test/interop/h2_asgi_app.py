"""A small ASGI app for the client's HTTP/2 interop tests (test/interop/http2-client.test.ts),
served by hypercorn over TLS with h2."""

import asyncio
import gzip
import json


async def read_body(receive):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def respond(send, status, body, headers=()):
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    if path == "/echo":
        body = await read_body(receive)
        reply = {
            "method": scope["method"],
            "httpVersion": scope["http_version"],
            "body": body.decode(),
            "contentLength": headers.get("content-length"),
            "cookie": headers.get("cookie"),
            "userAgent": headers.get("user-agent"),
        }
        await respond(send, 200, json.dumps(reply).encode(), [(b"content-type", b"application/json")])
    elif path == "/redirect":
        await respond(send, 302, b"", [(b"location", b"/echo"), (b"set-cookie", b"sort=rye; Path=/")])
    elif path == "/gzip":
        await respond(send, 200, gzip.compress(b"inflated by the client"),
                      [(b"content-encoding", b"gzip"), (b"content-type", b"text/plain")])
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):
            await send({"type": "http.response.body", "body": f"chunk {i};".encode(), "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
    elif path == "/stall":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        # Silent until the client gives up and resets the stream.
        await receive()
    else:
        await respond(send, 404, b"not found")
