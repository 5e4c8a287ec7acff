"""Python WebSocket peers for the aiohttp-ts interop tests (ws-python.test.ts).

Usage:
  ws_python_peer.py websockets-client   < spec.json   one connection with the `websockets` library
  ws_python_peer.py aiohttp-client      < spec.json   one connection with aiohttp's ClientSession
  ws_python_peer.py websockets-server               a `websockets` server on a free port
  ws_python_peer.py aiohttp-server                  an aiohttp server on a free port

A client reads {"url", "connect": {...options}, "steps": [...]} on stdin, runs the steps in order
and prints one JSON object: what each step got, and the connection's final state. Steps:
  {"op": "send_text", "data": s}     {"op": "send_bytes", "b64": s}
  {"op": "send_json", "data": v}
  {"op": "send_random", "size": n}   n pseudo-random bytes (seeded), reported by sha256
  {"op": "recv", "timeout": s}       the next message (a closed connection is reported, not raised)
  {"op": "ping", "data": s}          websockets only: ping, and wait for the matching pong
  {"op": "close", "code": n, "reason": s}
  {"op": "sleep", "s": x}

A server prints "READY <port>" once it listens, then one "EVENT <json>" line per WebSocket
when that connection ends (the `id` query parameter of its URL names it). Paths:
  /echo          sends every message back as it came
  /close         closes with ?code= and ?reason= after the handshake
  /big           (websockets) sends ?size= bytes in one message
  /ping          (websockets) pings, waits for the pong, then sends "pong received"
  /fragments     (websockets) sends "fragmented" as a text message in three frames
  /cookies       (aiohttp) sets a cookie in the 101 answer, then echoes
  /cookies/echo  (aiohttp) plain HTTP: the cookies the request carried, as JSON
  /forbidden     (aiohttp) answers 403 instead of upgrading
The aiohttp server's /echo takes ?heartbeat= (seconds) and counts the pings it sends; with
?pings=n it also sends the text "pinged n times" right after its n-th ping.
"""

import asyncio
import base64
import hashlib
import json
import random
import sys
import urllib.parse


def emit(kind, payload):
    print(f"{kind} {json.dumps(payload)}", flush=True)


def random_bytes(size):
    return random.Random(size).randbytes(size)


def describe_data(data):
    """A received payload as JSON: small ones whole, every one by length and sha256."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    out = {"length": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    if len(raw) <= 4096:
        if isinstance(data, str):
            out["text"] = data
        else:
            out["b64"] = base64.b64encode(raw).decode()
    return out


# ---- clients ---------------------------------------------------------------------------


async def websockets_client(spec):
    import websockets
    from websockets.exceptions import ConnectionClosed
    from websockets.legacy.client import WebSocketClientProtocol

    frames = []

    class RecordingProtocol(WebSocketClientProtocol):
        """Notes every frame as it arrives, before reassembly: opcode, fin and size."""

        async def read_frame(self, max_size):
            frame = await super().read_frame(max_size)
            frames.append(
                {"opcode": frame.opcode.name, "fin": frame.fin, "length": len(frame.data)}
            )
            return frame

    opts = spec.get("connect", {})
    ws = await websockets.connect(
        spec["url"],
        create_protocol=RecordingProtocol,
        subprotocols=opts.get("subprotocols"),
        compression=opts.get("compression", "deflate"),
        max_size=opts.get("max_size", 2**20),
        ping_interval=None,
        open_timeout=5,
        close_timeout=5,
    )
    results = []
    for step in spec["steps"]:
        op = step["op"]
        if op == "send_text":
            await ws.send(step["data"])
            results.append(None)
        elif op == "send_bytes":
            await ws.send(base64.b64decode(step["b64"]))
            results.append(None)
        elif op == "send_json":
            await ws.send(json.dumps(step["data"]))
            results.append(None)
        elif op == "send_random":
            data = random_bytes(step["size"])
            await ws.send(data)
            results.append(describe_data(data))
        elif op == "recv":
            try:
                msg = await asyncio.wait_for(ws.recv(), step.get("timeout", 5))
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                reason = exc.rcvd.reason if exc.rcvd is not None else None
                results.append(
                    {
                        "type": "closed",
                        "exception": type(exc).__name__,
                        "code": code,
                        "reason": reason,
                    }
                )
            else:
                kind = "text" if isinstance(msg, str) else "bytes"
                results.append({"type": kind, **describe_data(msg)})
        elif op == "ping":
            pong_waiter = await ws.ping(step.get("data"))
            latency = await asyncio.wait_for(pong_waiter, step.get("timeout", 5))
            results.append({"pong": True, "latency": latency})
        elif op == "close":
            await ws.close(step.get("code", 1000), step.get("reason", ""))
            results.append(None)
        elif op == "sleep":
            await asyncio.sleep(step["s"])
            results.append(None)
        else:
            raise ValueError(f"unknown step {op!r}")
    await ws.close()
    return {
        "results": results,
        "subprotocol": ws.subprotocol,
        "extensions": [ext.name for ext in ws.extensions],
        "responseHeaders": {k.lower(): v for k, v in ws.response_headers.raw_items()},
        "closeCode": ws.close_code,
        "closeReason": ws.close_reason,
        "frames": frames,
    }


async def aiohttp_client(spec):
    import aiohttp

    opts = spec.get("connect", {})
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            spec["url"],
            protocols=opts.get("protocols", ()),
            heartbeat=opts.get("heartbeat"),
            compress=opts.get("compress", 0),
            timeout=5,
        )
        pings = 0
        send_ping = ws._writer.ping

        async def counting_ping(message=b""):
            nonlocal pings
            pings += 1
            await send_ping(message)

        # The heartbeat pings through the writer; counting there proves that it ran.
        ws._writer.ping = counting_ping
        results = []
        for step in spec["steps"]:
            op = step["op"]
            if op == "send_text":
                await ws.send_str(step["data"])
                results.append(None)
            elif op == "send_bytes":
                await ws.send_bytes(base64.b64decode(step["b64"]))
                results.append(None)
            elif op == "send_json":
                await ws.send_json(step["data"])
                results.append(None)
            elif op == "send_random":
                data = random_bytes(step["size"])
                await ws.send_bytes(data)
                results.append(describe_data(data))
            elif op == "recv":
                msg = await ws.receive(timeout=step.get("timeout", 5))
                out = {"type": msg.type.name, "closed": ws.closed}
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    out.update(describe_data(msg.data))
                elif msg.type == aiohttp.WSMsgType.CLOSE:
                    out.update({"code": msg.data, "reason": msg.extra})
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    out["error"] = repr(msg.data)
                results.append(out)
            elif op == "close":
                closed = await ws.close(
                    code=step.get("code", 1000), message=step.get("reason", "").encode()
                )
                results.append({"closedByThisCall": closed})
            elif op == "sleep":
                await asyncio.sleep(step["s"])
                results.append(None)
            else:
                raise ValueError(f"unknown step {op!r}")
        await ws.close()
        return {
            "results": results,
            "protocol": ws.protocol,
            "compress": ws.compress,
            "closeCode": ws.close_code,
            "pings": pings,
            "exception": None if ws.exception() is None else repr(ws.exception()),
        }


# ---- servers ---------------------------------------------------------------------------


def query_of(path):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))


async def websockets_server():
    import websockets
    from websockets.exceptions import ConnectionClosed

    async def handler(ws):
        route = urllib.parse.urlsplit(ws.path).path
        query = query_of(ws.path)
        event = {"id": query.get("id"), "path": route}
        try:
            if route == "/echo":
                async for msg in ws:
                    await ws.send(msg)
            elif route == "/close":
                await ws.close(int(query["code"]), query.get("reason", ""))
            elif route == "/big":
                await ws.send(b"x" * int(query["size"]))
            elif route == "/ping":
                pong_waiter = await ws.ping(b"are you there?")
                await asyncio.wait_for(pong_waiter, 2)
                event["pong"] = True
                await ws.send("pong received")
            elif route == "/fragments":
                await ws.send(["frag", "ment", "ed"])
        except ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            event["pong"] = False
        await ws.wait_closed()
        event.update(
            {
                "subprotocol": ws.subprotocol,
                "extensions": [ext.name for ext in ws.extensions],
                "closeCode": ws.close_code,
                "closeReason": ws.close_reason,
            }
        )
        emit("EVENT", event)

    async with websockets.serve(
        handler, "127.0.0.1", 0, subprotocols=["chat"], ping_interval=None, close_timeout=5
    ) as server:
        emit("READY", server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()


async def aiohttp_server():
    from aiohttp import WSMsgType, web

    routes = web.RouteTableDef()

    async def serve(request, ws):
        event = {
            "id": request.query.get("id"),
            "path": request.path,
            "cookies": dict(request.cookies),
        }
        await ws.prepare(request)
        pings = 0
        send_ping = ws._writer.ping

        async def counting_ping(message=b""):
            nonlocal pings
            pings += 1
            await send_ping(message)

        # The heartbeat pings through the writer; counting there proves that it ran.
        ws._writer.ping = counting_ping
        notify_at = int(request.query.get("pings", "0"))
        if notify_at > 0:

            async def notifying_ping(message=b""):
                await counting_ping(message)
                if pings == notify_at:
                    await ws.send_str(f"pinged {pings} times")

            ws._writer.ping = notifying_ping
        if request.path == "/close":
            await ws.close(
                code=int(request.query["code"]), message=request.query.get("reason", "").encode()
            )
        while not ws.closed:
            msg = await ws.receive()
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == WSMsgType.CLOSE:
                event["closeMessage"] = {"code": msg.data, "reason": msg.extra}
            else:
                event.setdefault("others", []).append(msg.type.name)
        event.update(
            {
                "protocol": ws.ws_protocol,
                "compress": ws.compress,
                "closeCode": ws.close_code,
                "pings": pings,
                "exception": None if ws.exception() is None else repr(ws.exception()),
            }
        )
        emit("EVENT", event)
        return ws

    def websocket(request):
        heartbeat = request.query.get("heartbeat")
        return web.WebSocketResponse(
            protocols=("chat",), heartbeat=None if heartbeat is None else float(heartbeat)
        )

    @routes.get("/echo")
    async def echo(request):
        return await serve(request, websocket(request))

    @routes.get("/close")
    async def close(request):
        return await serve(request, websocket(request))

    @routes.get("/cookies")
    async def cookies(request):
        ws = websocket(request)
        ws.set_cookie("ws_session", "abc123", path="/")
        return await serve(request, ws)

    @routes.get("/cookies/echo")
    async def cookies_echo(request):
        return web.json_response(dict(request.cookies))

    @routes.get("/forbidden")
    async def forbidden(request):
        raise web.HTTPForbidden(text="no WebSocket for you")

    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    emit("READY", runner.addresses[0][1])
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


COMMANDS = {
    "websockets-client": websockets_client,
    "aiohttp-client": aiohttp_client,
    "websockets-server": websockets_server,
    "aiohttp-server": aiohttp_server,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    command = COMMANDS[sys.argv[1]]
    if sys.argv[1].endswith("-client"):
        print(json.dumps(asyncio.run(command(json.load(sys.stdin)))))
    else:
        try:
            asyncio.run(command())
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
