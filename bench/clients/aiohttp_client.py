"""Python aiohttp's client (Debian's python3-aiohttp), run with /usr/bin/python3.

The same workload as the node clients (bench/clients/harness.mjs): one ClientSession whose
connector allows as many connections as requests in flight, asyncio.gather over every request
bounded by a semaphore, each body decoded with resp.json() and its field checked. Prints one
JSON line.
Usage: /usr/bin/python3 aiohttp_client.py '{"url":...,"requests":...,"concurrency":...,"warmup":...}'
"""

import asyncio
import json
import sys
import time

import aiohttp

EXPECTED_MESSAGE = "Hello, World!"


async def drive(session: aiohttp.ClientSession, url: str, total: int, concurrency: int):
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            async with session.get(url) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"status {resp.status}")
                data = await resp.json()
                if data.get("message") != EXPECTED_MESSAGE:
                    raise RuntimeError(f"unexpected body {data!r}")

    results = await asyncio.gather(*(one() for _ in range(total)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    return len(errors), (repr(errors[0]) if errors else None)


async def main(opts: dict) -> None:
    connector = aiohttp.TCPConnector(limit=opts["concurrency"])
    async with aiohttp.ClientSession(connector=connector) as session:
        warm_failed, warm_error = await drive(
            session, opts["url"], opts["warmup"], opts["concurrency"]
        )
        cpu_before = time.process_time()
        started = time.perf_counter()
        failed, first_error = await drive(
            session, opts["url"], opts["requests"], opts["concurrency"]
        )
        wall_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu_before) * 1000
    summary = {
        "requests": opts["requests"],
        "wallMs": wall_ms,
        "cpuMs": cpu_ms,
        "cpuTotalMs": time.process_time() * 1000,
        "failed": failed + warm_failed,
        "firstError": first_error or warm_error,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
