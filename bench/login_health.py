"""Does password hashing block the event loop? /health latency with and without a login flood.

Starts `portside serve` (one process, default argon2id parameters) on a fresh SQLite
database, registers a user, then measures sequential /health requests: first alone, then
while LOGINS concurrent clients log in as fast as they can. Prints percentiles.

    .venv/bin/python -m bench.login_health [--seconds 10] [--logins 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import percentiles, portside_serve

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "a-sturdy-passphrase-42"


async def _health_latencies(client: httpx.AsyncClient, seconds: float) -> list[float]:
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await client.get("/health")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return samples


async def _log_in_forever(client: httpx.AsyncClient, done: asyncio.Event, counter: list[int]) -> None:
    while not done.is_set():
        response = await client.post("/api/v1/auth/login", json={"email": "bench@example.com", "password": PASSWORD})
        assert response.status_code == 200, response.text
        counter[0] += 1


async def _measure(seconds: float, logins: int) -> None:
    limits = httpx.Limits(max_connections=logins + 4)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=30) as client:
        await client.post("/api/v1/auth/register", json={"email": "bench@example.com", "password": PASSWORD})
        await _health_latencies(client, 1.0)  # warm-up
        alone = await _health_latencies(client, seconds)
        done, counter = asyncio.Event(), [0]
        flood = [asyncio.create_task(_log_in_forever(client, done, counter)) for _ in range(logins)]
        await asyncio.sleep(0.5)
        during = await _health_latencies(client, seconds)
        done.set()
        await asyncio.gather(*flood)
    print(f"/health alone            {percentiles(alone)}")
    print(f"/health during logins    {percentiles(during)}")
    print(f"logins completed         {counter[0]} in ~{seconds + 0.5:.1f} s ({counter[0] / (seconds + 0.5):.1f}/s)")
    print(f"p50 ratio during/alone   {statistics.median(during) / statistics.median(alone):.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--logins", type=int, default=16)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="portside-bench-"))
    env = {
        **os.environ,
        "PORTSIDE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
        "PORTSIDE_VAR_DIR": str(workdir),
        "PORTSIDE_PORT": str(PORT),
        "PORTSIDE_ACCESS_LOG": "off",
        "PORTSIDE_LOCKOUT_THRESHOLD": "1000000",
        "PORTSIDE_RATE_LIMITS": "off",  # the per-client login throttle would answer 429 after 30
    }
    with portside_serve(env, BASE):
        print(f"portside serve, 1 process, SQLite, argon2id m=19 MiB t=2 p=1, {args.logins} login clients")
        asyncio.run(_measure(args.seconds, args.logins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
