"""A Python aiohttp server for the client interop tests: aiohttp-ts's ClientSession calls it.

Usage: aiohttp_server.py PORT   (binds 127.0.0.1:PORT, prints "READY <port> brotli=<0|1>";
                                 PORT 0 takes a free port, which the READY line names)

Routes (all answers are JSON unless said otherwise):
  GET  /headers                    the request headers as pairs
  GET  /query                      the query pairs, in order, repeated keys kept
  POST /form                       the urlencoded form pairs and the Content-Type
  POST /json                       the JSON body back, and its Content-Type
  POST /upload                     reads request.content in chunks: byte count, chunks, sha256
  GET  /download/{n}               n bytes (pattern bytes(range(256)) repeated), chunked
  GET  /compressed/{coding}        TEXT compressed by aiohttp with gzip or deflate, or by brotli (br)
  GET  /cookies/set                sets cookies, then a later request echoes them
  GET  /cookies/echo               the cookies the request carried
  ANY  /redirect/{code}/{kind}     answers {code} with a relative or absolute Location
  GET  /redirect-to?url=U          302 to any URL U (another origin, say)
  GET  /redirect/chain/{n}         n relative 302 hops, then /redirect/target
  ANY  /redirect/target            the method, body and Content-Type that arrived
  GET  /slow/head?delay=ms         waits before answering at all
  GET  /slow/body?delay=ms         sends a first chunk, waits, then the rest
  GET  /slow/trickle?chunks=n&every=ms   n chunks, one every `every` ms
  GET  /drop/length                declares Content-Length 1000, sends 300 bytes, closes
  GET  /drop/chunked               sends two chunks, closes before the last chunk
  GET  /close                      closes the connection before any response
"""

import asyncio
import hashlib
import sys

from aiohttp import web

try:  # aiohttp compresses with br only when a brotli module is importable.
    import brotli  # noqa: F401

    HAVE_BROTLI = True
except ImportError:
    try:
        import brotlicffi  # noqa: F401

        HAVE_BROTLI = True
    except ImportError:
        HAVE_BROTLI = False

TEXT = "aiohttp compressed this line for the aiohttp-ts client.\n" * 300
BLOCK = bytes(range(256)) * 256  # 64 KiB

routes = web.RouteTableDef()


@routes.get("/headers")
async def headers(request):
    return web.json_response({"headers": [[k, v] for k, v in request.headers.items()]})


@routes.get("/query")
async def query(request):
    return web.json_response({"query": [[k, v] for k, v in request.query.items()]})


@routes.post("/form")
async def form(request):
    data = await request.post()
    return web.json_response(
        {"contentType": request.content_type, "fields": [[k, v] for k, v in data.items()]}
    )


@routes.post("/json")
async def json_echo(request):
    return web.json_response(
        {"contentType": request.content_type, "received": await request.json()}, status=201
    )


@routes.post("/upload")
async def upload(request):
    digest = hashlib.sha256()
    size = 0
    chunks = 0
    async for chunk in request.content.iter_chunked(65536):
        digest.update(chunk)
        size += len(chunk)
        chunks += 1
    return web.json_response(
        {
            "size": size,
            "chunks": chunks,
            "sha256": digest.hexdigest(),
            "chunked": request.headers.get("Transfer-Encoding") == "chunked",
            "contentType": request.content_type,
        }
    )


@routes.get("/download/{n}")
async def download(request):
    n = int(request.match_info["n"])
    resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    sent = 0
    while sent < n:
        piece = BLOCK[: min(len(BLOCK), n - sent)]
        await resp.write(piece)
        sent += len(piece)
    await resp.write_eof()
    return resp


@routes.get("/compressed/{coding}")
async def compressed(request):
    coding = request.match_info["coding"]
    if coding == "br":
        # aiohttp 3.8's server compresses only with zlib; brotli encodes this one by hand.
        import brotli

        return web.Response(
            body=brotli.compress(TEXT.encode()),
            headers={"Content-Encoding": "br", "Content-Type": "text/plain; charset=utf-8"},
        )
    resp = web.Response(text=TEXT)
    resp.enable_compression(web.ContentCoding[coding])
    return resp


@routes.get("/cookies/set")
async def cookies_set(request):
    resp = web.json_response({"set": ["session", "theme", "scoped"]})
    resp.set_cookie("session", "s3cr3t", httponly=True)
    resp.set_cookie("theme", "dark", max_age=3600)
    resp.set_cookie("scoped", "only-under-cookies", path="/cookies/")
    return resp


@routes.get("/cookies/echo")
async def cookies_echo(request):
    return web.json_response(dict(request.cookies))


@routes.get("/elsewhere")
async def elsewhere(request):
    return web.json_response(dict(request.cookies))


REDIRECTS = {
    301: web.HTTPMovedPermanently,
    302: web.HTTPFound,
    303: web.HTTPSeeOther,
    307: web.HTTPTemporaryRedirect,
    308: web.HTTPPermanentRedirect,
}


@routes.route("*", "/redirect/target")
async def redirect_target(request):
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "body": body.decode("utf-8", "replace"),
            "contentType": request.headers.get("Content-Type"),
        }
    )


@routes.get("/redirect-to")
async def redirect_to(request):
    raise web.HTTPFound(request.query["url"])


@routes.get("/redirect/chain/{n}")
async def redirect_chain(request):
    n = int(request.match_info["n"])
    raise web.HTTPFound("/redirect/target" if n <= 1 else f"/redirect/chain/{n - 1}")


@routes.route("*", "/redirect/{code}/{kind}")
async def redirect(request):
    await request.read()
    code = int(request.match_info["code"])
    kind = request.match_info["kind"]
    if kind == "absolute":
        location = str(request.url.with_path("/redirect/target").with_query(None))
    elif kind == "relative-path":
        location = "../target"
    else:
        location = "/redirect/target"
    raise REDIRECTS[code](location)


def delay_of(request):
    return int(request.query.get("delay", "1000")) / 1000


@routes.get("/slow/head")
async def slow_head(request):
    await asyncio.sleep(delay_of(request))
    return web.Response(text="late")


@routes.get("/slow/body")
async def slow_body(request):
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    await resp.write(b"first\n")
    await asyncio.sleep(delay_of(request))
    try:
        await resp.write(b"second\n")
        await resp.write_eof()
    except ConnectionResetError:
        pass  # The client timed out and went away, as the timeout tests intend.
    return resp


@routes.get("/slow/trickle")
async def slow_trickle(request):
    chunks = int(request.query.get("chunks", "20"))
    every = int(request.query.get("every", "100")) / 1000
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    try:
        for i in range(chunks):
            await resp.write(f"{i}\n".encode())
            await asyncio.sleep(every)
        await resp.write_eof()
    except ConnectionResetError:
        pass  # The client timed out and went away, as the timeout tests intend.
    return resp


@routes.get("/drop/length")
async def drop_length(request):
    resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    resp.content_length = 1000
    await resp.prepare(request)
    await resp.write(b"x" * 300)
    await asyncio.sleep(0.05)
    request.transport.close()
    return resp


@routes.get("/drop/chunked")
async def drop_chunked(request):
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(b"part one\n")
    await resp.write(b"part two\n")
    await asyncio.sleep(0.05)
    request.transport.close()
    return resp


@routes.get("/close")
async def close_now(request):
    request.transport.close()
    await asyncio.sleep(0.05)
    return web.Response(text="never sent")


async def main(port):
    app = web.Application(client_max_size=64 * 1024**2)
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY {port} brotli={int(HAVE_BROTLI)}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
