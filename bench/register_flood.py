"""Does a registration flood starve other requests? GET /auth/me latency alone and during one.

Starts `portside serve` (one process, default argon2id parameters, rate limits off so every
registration is hashed) on a fresh database, logs a user in, then measures sequential
`GET /api/v1/auth/me` requests (one indexed read each): first alone, then while CLIENTS
concurrent clients register new accounts as fast as they can. Prints percentiles, and how
the registrations ended (201, or 503 when the hashing queue was full).

    .venv/bin/python -m bench.register_flood [--seconds 10] [--clients 60] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.harness import percentiles, portside_serve

PORT = 8766
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "a-sturdy-passphrase-42"
_numbers = itertools.count()


async def _me_latencies(client: httpx.AsyncClient, token: str, seconds: float) -> list[float]:
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return samples


async def _register_forever(client: httpx.AsyncClient, done: asyncio.Event, outcomes: Counter[int]) -> None:
    while not done.is_set():
        email = f"flood-{next(_numbers)}@example.com"
        response = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        outcomes[response.status_code] += 1


async def _measure(seconds: float, clients: int) -> None:
    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=60) as client:
        await client.post("/api/v1/auth/register", json={"email": "bench@example.com", "password": PASSWORD})
        login = await client.post("/api/v1/auth/login", json={"email": "bench@example.com", "password": PASSWORD})
        token = login.json()["access_token"]
        await _me_latencies(client, token, 1.0)  # warm-up
        alone = await _me_latencies(client, token, seconds)
        done, outcomes = asyncio.Event(), Counter[int]()
        flood = [asyncio.create_task(_register_forever(client, done, outcomes)) for _ in range(clients)]
        await asyncio.sleep(0.5)
        during = await _me_latencies(client, token, seconds)
        done.set()
        await asyncio.gather(*flood)
    print(f"/auth/me alone                {percentiles(alone)}")
    print(f"/auth/me during registrations {percentiles(during)}")
    print(f"registrations by status       {dict(sorted(outcomes.items()))} in ~{seconds + 0.5:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="portside-bench-"))
    env = {
        **os.environ,
        "PORTSIDE_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{workdir}/bench.db",
        "PORTSIDE_VAR_DIR": str(workdir),
        "PORTSIDE_PORT": str(PORT),
        "PORTSIDE_ACCESS_LOG": "off",
        "PORTSIDE_RATE_LIMITS": "off",
    }
    with portside_serve(env, BASE):
        database = "PostgreSQL" if args.database_url else "SQLite"
        print(f"portside serve, 1 process, {database}, argon2id m=19 MiB t=2 p=1, {args.clients} registering clients")
        asyncio.run(_measure(args.seconds, args.clients))
    return 0


if __name__ == "__main__":
    sys.exit(main())
