"""Uploads files with Python aiohttp's FormData, for the interop tests: argv is the URL and then
`field=path` (a file, sent with its base name and application/octet-stream) or `field:text` (a
text field) items, in order. Prints the status line and the response body on stdout.

Exit codes: 0 done, 2 bad arguments, 3 no aiohttp.
"""

import asyncio
import os
import sys

try:
    import aiohttp
except ImportError as exc:
    print(f"aiohttp is not importable by {sys.executable}: {exc}", file=sys.stderr)
    sys.exit(3)


async def upload(url, items):
    form = aiohttp.FormData()
    files = []
    for item in items:
        if "=" in item:
            name, path = item.split("=", 1)
            handle = open(path, "rb")
            files.append(handle)
            form.add_field(
                name,
                handle,
                filename=os.path.basename(path),
                content_type="application/octet-stream",
            )
        elif ":" in item:
            name, text = item.split(":", 1)
            form.add_field(name, text)
        else:
            print(f"bad item {item!r}", file=sys.stderr)
            sys.exit(2)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=form) as resp:
                print(resp.status)
                print(await resp.text())
    finally:
        for handle in files:
            handle.close()


if len(sys.argv) < 2:
    print("usage: aiohttp_form_upload.py URL [field=path | field:text]...", file=sys.stderr)
    sys.exit(2)
asyncio.run(upload(sys.argv[1], sys.argv[2:]))
