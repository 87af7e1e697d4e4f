"""`make bench-jobs` (part of `make bench`): how fast committed events become jobs.

Production profile: PostgreSQL, Redis, arq. Two figures, printed (never asserted):

1. Commit to job start: one ``portside worker`` process; registrations committed one at a
   time (20 a second) through the use-case; for each, the job record's ``started_at``
   minus the event's ``occurred_at`` (stamped just before the commit). p50/p90/p99.
2. Relay throughput: 5,000 committed ``user.registered`` events waiting in the outbox, one
   relay (this process, the code ``portside worker`` runs) records and queues them into
   arq; events per second from the first claim to an empty outbox.

    .venv/bin/python -m bench.jobs [--events 5000] [--registrations 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg
import redis.asyncio as redis_asyncio
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shared.event_codec import encode
from adapters.sql.tables import outbox
from application.identity.register_user import RegisterUser, RegisterUserCommand
from application.jobs.relay_outbox import RelayOutbox
from application.shared.events import Envelope
from application.shared.outbox import OutboxReader
from bench.harness import dsn_of, percentiles, recreate_database
from entrypoints.container import build_container
from entrypoints.testing.harness import Harness, harness_settings

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
DATABASE = "portside_bench_jobs"


def _url() -> str:
    return dsn_of(DATABASE).replace("postgresql://", "postgresql+asyncpg://", 1)


async def _fresh() -> None:
    await recreate_database(DATABASE)
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()


def _env() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_")},
        "PORTSIDE_DATABASE_URL": _url(),
        "PORTSIDE_REDIS_URL": REDIS_URL,
        "PORTSIDE_JWT_SECRET": "bench-secret-bench-secret-bench-secret-0123",
        "PORTSIDE_ENV": "production",
        "PORTSIDE_PUBLIC_URL": "https://bench.example",
        "PORTSIDE_LOG_LEVEL": "warning",
        "PORTSIDE_VAR_DIR": str(ROOT / "bench" / "results" / "var"),
    }


async def relay_throughput(events: int) -> float:
    async with Harness(harness_settings(_url(), redis_url=REDIS_URL)) as app:
        engine = await app.get(AsyncEngine)
        now = datetime.now(UTC)
        rows = [
            encode(
                Envelope(
                    event_id=UUID(int=n + 1, version=4),
                    name="user.registered",
                    occurred_at=now,
                    aggregate_type="user",
                    aggregate_id=str(n),
                    actor_id=None,
                    request_id=None,
                    payload={"user_id": str(n), "email": f"bench{n}@example.com"},
                )
            )
            for n in range(events)
        ]
        async with engine.begin() as connection:
            await connection.execute(insert(outbox), rows)
        reader = await app.get(OutboxReader)
        started = time.perf_counter()
        while True:
            async with app.use(RelayOutbox) as relay:
                report = await relay()
            if report.claimed == 0 and await reader.oldest_pending() is None:
                break
        elapsed = time.perf_counter() - started
    return events / elapsed


async def _waits(registrations: int, log: Path) -> list[float]:
    """Seconds from each registration's event to its job's start, once all have started."""
    connection = await asyncpg.connect(dsn_of(DATABASE))
    try:
        for _ in range(300):
            rows = await connection.fetch(
                "SELECT extract(epoch FROM j.started_at - o.occurred_at) AS waited "
                "FROM jobs j JOIN outbox o ON o.event_id = j.id "
                "WHERE j.started_at IS NOT NULL AND o.payload LIKE '%latency%'"
            )
            if len(rows) >= registrations:
                return [float(row["waited"]) for row in rows]
            await asyncio.sleep(0.1)
        raise SystemExit(f"only {len(rows)} of {registrations} jobs started; see {log}")
    finally:
        await connection.close()


async def commit_to_start(registrations: int) -> list[float]:
    env = _env()
    log = ROOT / "bench" / "results" / "bench-jobs-worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
            [sys.executable, "-m", "entrypoints.cli", "worker"], env=env, cwd=ROOT, stdout=output, stderr=output
        )
    try:
        container = build_container(harness_settings(_url(), redis_url=REDIS_URL))  # the system clock
        try:
            await asyncio.sleep(2)  # the worker connects
            for n in range(registrations):
                async with container() as request:
                    register = await request.get(RegisterUser)
                    await register(RegisterUserCommand(email=f"latency{n}@example.com", password="a-sturdy-passphrase"))
                await asyncio.sleep(0.05)
        finally:
            await container.close()
        return await _waits(registrations, log)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--registrations", type=int, default=200)
    args = parser.parse_args()
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    asyncio.run(_fresh())
    subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "migrate"], env=_env(), cwd=ROOT, check=True, capture_output=True
    )
    waits = asyncio.run(commit_to_start(args.registrations))  # first: no backlog in the queue
    print(f"commit -> job start (one worker, {args.registrations} registrations at 20/s): {percentiles(waits)}")
    rate = asyncio.run(relay_throughput(args.events))
    print(f"relay throughput (PostgreSQL -> arq/Redis, one relay, {args.events} events): {rate:,.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
