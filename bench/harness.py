"""What the latency benchmarks share: one `portside serve` process and percentile lines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
"""A database on the benchmarks' PostgreSQL server to create the others from."""


def dsn_of(database: str) -> str:
    """The DSN of ``database`` on the server of ``PG_ADMIN``."""
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


async def recreate_database(database: str) -> None:
    """Drop ``database`` (whoever is connected) and create it empty."""
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()


JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123"
"""The benchmarks' token secret: a server started later accepts the tokens an earlier one issued."""


def production_settings(database: str, redis_url: str) -> dict[str, str]:
    """The settings the benchmarks serve portside with: the production profile on
    ``database`` and Redis, rate limits off (as the contract intends for benchmarks)."""
    return {
        "PORTSIDE_ENV": "production",
        "PORTSIDE_PUBLIC_URL": "https://bench.example",
        "PORTSIDE_JWT_SECRET": JWT_SECRET,
        "PORTSIDE_DATABASE_URL": dsn_of(database),
        "PORTSIDE_REDIS_URL": redis_url,
        "PORTSIDE_RATE_LIMITS": "off",
        "PORTSIDE_ACCESS_TOKEN_TTL": "3600",
    }


async def create_reference_rows(database: str) -> None:
    """The ceiling's table (``bench/reference_app.py``): 1,000 rows of ``bench_rows``."""
    connection = await asyncpg.connect(dsn_of(database))
    try:
        await connection.execute(
            "CREATE TABLE bench_rows (id integer PRIMARY KEY, title text NOT NULL, body text NOT NULL)"
        )
        await connection.executemany(
            "INSERT INTO bench_rows VALUES ($1, $2, $3)", [(n, f"row {n}", "x" * 64) for n in range(1, 1001)]
        )
    finally:
        await connection.close()


async def analyze(database: str) -> None:
    """``VACUUM ANALYZE`` ``database`` after seeding: the planner's statistics and the
    visibility map that autovacuum would have made by the time a table holds this much.
    The PostgreSQL of these machines runs with ``autovacuum = off`` (fast tests); without
    this a list is planned blind (a bitmap scan and a sort of all the owner's rows per
    request instead of the index's first page) and measures the planner, not portside."""
    connection = await asyncpg.connect(dsn_of(database))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def cpu_seconds(root: int) -> float:
    """CPU time used so far by ``root`` and every process under it (uvicorn's workers)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


def percentiles(samples: list[float]) -> str:
    """``n``, p50, p90, p99 and max of durations in seconds, as one line in milliseconds."""
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (
        f"n={len(ordered):5d}  p50={pick(0.50):7.2f} ms  p90={pick(0.90):7.2f} ms  "
        f"p99={pick(0.99):7.2f} ms  max={ordered[-1] * 1000:7.2f} ms"
    )


@contextmanager
def portside_serve(env: Mapping[str, str], base: str) -> Iterator[None]:
    """Migrate, then serve this checkout's portside (whatever is installed, so a worktree
    measures itself) with ``env`` until the block ends; ``base`` is where it answers."""
    portside = [sys.executable, "-m", "entrypoints.cli"]
    subprocess.run([*portside, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    server = subprocess.Popen(
        [*portside, "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)
