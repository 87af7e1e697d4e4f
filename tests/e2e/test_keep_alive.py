"""``portside serve`` keeps an idle keep-alive connection open longer than a person thinks
between two requests (uvicorn's default closes it after 5 s)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.server import portside_serve

IDLE = 6.0
"""Seconds between the two requests: past uvicorn's default of 5."""


async def _get_health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /health HTTP/1.1\r\nHost: portside\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0]


async def test_a_connection_idle_for_longer_than_five_seconds_still_serves(tmp_path: Path) -> None:
    with portside_serve("memory://", tmp_path) as base:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            async with asyncio.timeout(IDLE + 10):
                assert await _get_health(reader, writer) == b"HTTP/1.1 200 OK"
                await asyncio.sleep(IDLE)
                assert await _get_health(reader, writer) == b"HTTP/1.1 200 OK"  # the same connection
        finally:
            writer.close()
