"""Drives Python's aiohttp client for the interop tests: one ClientSession, the requests a JSON
command on stdin describes, one JSON result on stdout.

Command: {"timeout": seconds, "requests": [{
    "method": "GET", "url": "http://...", "params": [[k, v], ...], "headers": [[k, v], ...],
    "form": [[k, v], ...],   # urlencoded body, repeated keys kept
    "json": ...,             # JSON body
    "text": "...",           # raw body, UTF-8
    "bodySize": n,           # raw body of n bytes ("x" * n), sent with Content-Length
    "expect100": true,       # send Expect: 100-continue and wait for the interim answer
    "read": "text" | "chunks"
}]}

Result: {"results": [{"status", "reason", "version", "headers": [[k, v]], "body",
"bodyLength", "chunks": [sizes], "localPort", "connection": "new" | "reused" | null,
"error": null | {"type", "message"}}], "cookies": [{"name", "value", <attributes>}]}

Exit codes: 0 done (request failures are reported in "error"), 2 bad command, 3 no aiohttp.
"""

import asyncio
import json
import sys

try:
    import aiohttp
except ImportError as exc:  # The test prints this so that a missing package is obvious.
    print(f"aiohttp is not importable by {sys.executable}: {exc}", file=sys.stderr)
    sys.exit(3)


def pairs(value):
    return [(str(k), str(v)) for k, v in (value or [])]


def make_trace(events):
    # Connection reuse as aiohttp's connector sees it: one event per request.
    trace = aiohttp.TraceConfig()

    async def on_create(_session, _ctx, _params):
        events.append("new")

    async def on_reuse(_session, _ctx, _params):
        events.append("reused")

    trace.on_connection_create_end.append(on_create)
    trace.on_connection_reuseconn.append(on_reuse)
    return trace


class RecordingConnector(aiohttp.TCPConnector):
    """Notes the local port of the connection each request is sent on: a small response is
    released back to the pool before the caller could look at resp.connection."""

    def __init__(self, ports, **kwargs):
        super().__init__(**kwargs)
        self._ports = ports

    async def connect(self, *args, **kwargs):
        conn = await super().connect(*args, **kwargs)
        sockname = conn.transport.get_extra_info("sockname") if conn.transport else None
        self._ports.append(sockname[1] if sockname else None)
        return conn


def request_kwargs(spec):
    kwargs = {"params": pairs(spec.get("params")), "headers": pairs(spec.get("headers"))}
    if "form" in spec:
        # A list of pairs keeps repeated keys; aiohttp urlencodes it.
        kwargs["data"] = pairs(spec["form"])
    elif "json" in spec:
        kwargs["json"] = spec["json"]
    elif "text" in spec:
        kwargs["data"] = spec["text"].encode("utf-8")
    elif "bodySize" in spec:
        kwargs["data"] = b"x" * int(spec["bodySize"])
    if spec.get("expect100"):
        kwargs["expect100"] = True
    return kwargs


async def perform(session, spec, events, ports):
    before = len(events)
    ports_before = len(ports)
    result = {
        "status": None,
        "reason": None,
        "version": None,
        "headers": [],
        "body": "",
        "bodyLength": 0,
        "chunks": [],
        "localPort": None,
        "connection": None,
        "error": None,
    }
    try:
        async with session.request(spec.get("method", "GET"), spec["url"], **request_kwargs(spec)) as resp:
            result["status"] = resp.status
            result["reason"] = resp.reason
            result["version"] = f"{resp.version.major}.{resp.version.minor}"
            result["headers"] = [[k, v] for k, v in resp.headers.items()]
            if spec.get("read") == "chunks":
                body = bytearray()
                async for chunk in resp.content.iter_any():
                    result["chunks"].append(len(chunk))
                    body.extend(chunk)
                body = bytes(body)
            else:
                body = await resp.read()
            result["bodyLength"] = len(body)
            result["body"] = body.decode("utf-8", errors="replace")
    except Exception as exc:  # Reported, not raised: the test decides what a failure means.
        result["error"] = {"type": type(exc).__name__, "message": str(exc)}
    if len(events) > before:
        result["connection"] = events[before]
    if len(ports) > ports_before:
        result["localPort"] = ports[ports_before]
    return result


def dump_cookies(jar):
    out = []
    for morsel in jar:
        cookie = {"name": morsel.key, "value": morsel.value}
        for attr in ("domain", "path", "expires", "max-age", "httponly", "secure", "samesite"):
            if morsel.get(attr):
                cookie[attr] = morsel[attr]
        out.append(cookie)
    return out


async def main():
    try:
        command = json.loads(sys.stdin.read())
        specs = command["requests"]
    except (ValueError, KeyError, TypeError) as exc:
        print(f"bad command: {exc}", file=sys.stderr)
        return 2
    events = []
    ports = []
    timeout = aiohttp.ClientTimeout(total=float(command.get("timeout", 10)))
    # An unsafe jar accepts cookies from IP-address hosts such as 127.0.0.1.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(
        connector=RecordingConnector(ports),
        timeout=timeout,
        cookie_jar=jar,
        trace_configs=[make_trace(events)],
    ) as session:
        results = [await perform(session, spec, events, ports) for spec in specs]
        cookies = dump_cookies(session.cookie_jar)
    json.dump({"results": results, "cookies": cookies}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
