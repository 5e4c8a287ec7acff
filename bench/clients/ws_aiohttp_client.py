"""Python aiohttp's WebSocket client (Debian's python3-aiohttp), run with /usr/bin/python3.

The same workload as the node clients (bench/clients/ws-harness.mjs): `connections`
WebSockets from one ClientSession (ws_connect with its defaults: no compression), each sending
the message and awaiting its echo in a loop, `warmupMs` unmeasured then `durationMs` measured;
every echo is checked. Prints one JSON line.
Usage: /usr/bin/python3 ws_aiohttp_client.py '{"url":...,"connections":...,"size":...,
  "binary":...,"warmupMs":...,"durationMs":...}'
"""

import asyncio
import json
import sys
import time

import aiohttp

DRAIN_S = 5.0
TEXT = "abcdefghijklmnopqrstuvwxyz0123456789"


def payload_of(size: int, binary: bool):
    if not binary:
        return (TEXT * (size // len(TEXT) + 1))[:size]
    return bytes((i * 31 + 7) & 255 for i in range(size))


async def main(opts: dict) -> None:
    binary = opts["binary"]
    payload = payload_of(opts["size"], binary)
    expected = aiohttp.WSMsgType.BINARY if binary else aiohttp.WSMsgType.TEXT
    state = {"phase": 0, "round_trips": 0, "all": 0, "failed": 0, "first_error": None}

    async def loop(ws: aiohttp.ClientWebSocketResponse) -> None:
        while state["phase"] < 2:
            try:
                if binary:
                    await ws.send_bytes(payload)
                else:
                    await ws.send_str(payload)
                msg = await ws.receive()
                if msg.type != expected or msg.data != payload:
                    raise RuntimeError(f"echo differs: {msg.type} {str(msg.data)[:60]}")
            except Exception as err:  # noqa: BLE001 - reported, not raised
                state["failed"] += 1
                if state["first_error"] is None:
                    state["first_error"] = repr(err)
                return
            state["all"] += 1
            if state["phase"] == 1:
                state["round_trips"] += 1

    async with aiohttp.ClientSession() as session:
        conns = await asyncio.gather(
            *(session.ws_connect(opts["url"]) for _ in range(opts["connections"]))
        )
        loops = asyncio.gather(*(loop(ws) for ws in conns))
        await asyncio.sleep(opts["warmupMs"] / 1000)
        state["phase"] = 1
        cpu_before = time.process_time()
        started = time.perf_counter()
        await asyncio.sleep(opts["durationMs"] / 1000)
        state["phase"] = 2
        wall_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu_before) * 1000
        try:
            await asyncio.wait_for(loops, DRAIN_S)
        except asyncio.TimeoutError:
            state["failed"] += 1
            state["first_error"] = state["first_error"] or "some echoes were still missing"
        try:
            await asyncio.wait_for(asyncio.gather(*(ws.close() for ws in conns)), DRAIN_S)
        except asyncio.TimeoutError:
            pass
    summary = {
        "roundTrips": state["round_trips"],
        "wallMs": wall_ms,
        "cpuMs": cpu_ms,
        "allRoundTrips": state["all"],
        "cpuTotalMs": time.process_time() * 1000,
        "failed": state["failed"],
        "firstError": state["first_error"],
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
