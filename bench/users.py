"""`make bench-users`: many authenticated users at once, each on its own keep-alive
connection, with think time between requests, against `portside serve` (two workers).

The mix (issue 15): 70 % reads (a todo, the todo list, a post, /auth/me), 25 % writes
(create, patch with If-Match, toggle), 5 % refresh. Users are registered and logged in over
HTTP first (one each: register, login, a todo), then the connections open over the ramp-up,
and only what completes in the measured window after it counts. Prints p50/p95/p99 per
operation, errors, the throughput and the RSS of each serve worker. Targets are reported,
never asserted.

    .venv/bin/python -m bench.users [--users 10000] [--think 5] [--duration 60] [--ramp 20] [--tracing [RATIO]]
    .venv/bin/python -m bench.users --ceiling [--users 10000]

``--ceiling`` puts the same users, connections, think time and window on the bare ceiling
(``bench/reference_app.py``: Litestar and asyncpg, nothing of portside) under uvicorn with
the same workers, every request one row by primary key: what this machine can serve at
this load with no application at all, the bound on any mix portside could reach here.

The generator is a small HTTP/1.1 client on asyncio streams (uvloop): httpx would cost the
shared cores more than the server it measures. It runs on the same machine as the server,
PostgreSQL and Redis.

Users are seeded by a `portside serve` in the development profile with fast argon2 (1 MiB,
1 pass): registering and logging in 10,000 users at OWASP cost would take minutes of hashing
that the run does not measure. The measured run is then a fresh `serve` in the production
profile, as an operator runs it: JSON logs with the access log, metrics, Redis, the rate
limits on, and with ``--tracing [RATIO]`` tracing to a local OTLP sink (``bench.otlp_sink``).
What differs from production, and why: the login, registration and API rate limits are
raised, not off: every request still pays the limiter's Redis round trip, but every user
comes from 127.0.0.1 here, so the per-address limits would refuse what distinct clients
never would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

from bench import run
from bench.harness import (
    JWT_SECRET,
    analyze,
    cpu_seconds,
    create_reference_rows,
    dsn_of,
    production_settings,
    recreate_database,
)
from bench.otlp_sink import add_tracing_argument, traced
from entrypoints.http.asgi import GC_THRESHOLDS

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
DATABASE = "portside_bench_users"
PORT = 8803
PASSWORD = "a-sturdy-bench-passphrase"
PORTSIDE = [sys.executable, "-m", "entrypoints.cli"]

MIX = (
    ("todo", 17.5),
    ("list", 17.5),
    ("post", 17.5),
    ("me", 17.5),
    ("create", 25 / 3),
    ("patch", 25 / 3),
    ("toggle", 25 / 3),
    ("refresh", 5.0),
)
CEILING_MIX = (("row", 100.0),)
"""``--ceiling``: every request reads one row of ``bench_rows`` by primary key."""
Mix = tuple[tuple[str, float], ...]


@dataclass
class User:
    email: str
    access: str = ""
    refresh: str = ""
    todo_id: str = ""
    todo_version: int = 1


@dataclass
class Tally:
    """Requests that *started* in the measured window, however late they end (a slow answer
    under saturation is what is measured); a request past ``REQUEST_TIMEOUT`` is an error."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    measuring: bool = False
    live: int = 0
    """Users whose connection is open and who are in their request loop."""

    def record(self, counted: bool, op: str, seconds: float, ok: bool, detail: str) -> None:
        if not counted:
            return
        self.samples[op].append(seconds)
        if not ok:
            self.errors[f"{op}: {detail}"] += 1


REQUEST_TIMEOUT = 15.0
"""Seconds a request may take before it counts as an error (a timeout)."""


class Connection:
    """One keep-alive HTTP/1.1 connection; requests in sequence."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT, limit=1 << 20)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, *, token: str = "", body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        parsed = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                parsed[name.strip().lower()] = value.strip()
        length = int(parsed.get("content-length", "0"))
        payload = await self._reader.readexactly(length) if length else b""
        return status, parsed, payload

    def close(self) -> None:
        self._writer.close()


def _environment(workers: int, *, seeding: bool, tracing: dict[str, str]) -> dict[str, str]:
    """The seeding server's settings (development, fast argon2, no tracing) or the measured
    one's (production, ``tracing`` applied); both on one database, Redis and JWT secret."""
    profile = (
        {
            "PORTSIDE_ENV": "development",
            "PORTSIDE_LOG_FORMAT": "json",
            "PORTSIDE_LOG_LEVEL": "warning",
            "PORTSIDE_JWT_SECRET": JWT_SECRET,
            "PORTSIDE_DATABASE_URL": dsn_of(DATABASE),
            "PORTSIDE_REDIS_URL": REDIS_URL,
            "PORTSIDE_ARGON2_MEMORY_KIB": "1024",
            "PORTSIDE_ARGON2_ITERATIONS": "1",
        }
        if seeding
        else production_settings(DATABASE, REDIS_URL) | {"PORTSIDE_RATE_LIMITS": "on"} | tracing
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PORTSIDE_", "OTEL_"))},
        **profile,
        "PORTSIDE_LOGIN_THROTTLE": "100000000",
        "PORTSIDE_REGISTER_THROTTLE": "100000000",
        "PORTSIDE_REGISTER_GLOBAL_THROTTLE": "100000000",
        "PORTSIDE_API_RATE_LIMIT": "100000000/minute",
        "PORTSIDE_ACCESS_TOKEN_TTL": "3600",
        "PORTSIDE_WORKERS": str(workers),
        "PORTSIDE_HOST": "127.0.0.1",
        "PORTSIDE_PORT": str(PORT),
        "PORTSIDE_VAR_DIR": str(ROOT / "bench" / "results" / "var-users"),
    }


async def _seed_one(user: User, post_owner: bool) -> str | None:
    connection = await Connection.open()
    try:
        credentials = {"email": user.email, "password": PASSWORD}
        status, _, _ = await connection.request("POST", "/api/v1/auth/register", body=credentials)
        assert status == 201, status
        status, _, payload = await connection.request("POST", "/api/v1/auth/login", body=credentials)
        assert status == 200, status
        tokens = json.loads(payload)
        user.access, user.refresh = tokens["access_token"], tokens["refresh_token"]
        status, _, payload = await connection.request("POST", "/api/v1/todos", token=user.access, body={"title": "t"})
        assert status == 201, status
        user.todo_id = json.loads(payload)["id"]
        if not post_owner:
            return None
        post = {"title": "Hello", "content": "The post everyone reads.", "published": True}
        status, _, payload = await connection.request("POST", "/api/v1/posts", token=user.access, body=post)
        assert status == 201, status
        post_id: str = json.loads(payload)["id"]
        return post_id
    finally:
        connection.close()


async def _seed(users: list[User]) -> str:
    post_id = await _seed_one(users[0], post_owner=True)
    assert post_id is not None
    gate = asyncio.Semaphore(64)

    async def one(user: User) -> None:
        async with gate:
            await _seed_one(user, post_owner=False)

    await asyncio.gather(*(one(user) for user in users[1:]))
    await analyze(DATABASE)
    return post_id


async def _act(connection: Connection, user: User, op: str, post_id: str) -> tuple[bool, str]:
    todo = f"/api/v1/todos/{user.todo_id}"
    if op == "todo":
        status, _, _ = await connection.request("GET", todo, token=user.access)
    elif op == "list":
        status, _, _ = await connection.request("GET", "/api/v1/todos?size=20", token=user.access)
    elif op == "post":
        status, _, _ = await connection.request("GET", f"/api/v1/posts/{post_id}", token=user.access)
    elif op == "me":
        status, _, _ = await connection.request("GET", "/api/v1/auth/me", token=user.access)
    elif op == "create":
        status, _, _ = await connection.request("POST", "/api/v1/todos", token=user.access, body={"title": "more"})
    elif op in ("patch", "toggle"):
        match = {"If-Match": f'"{user.todo_version}"'}
        if op == "patch":
            status, headers, _ = await connection.request(
                "PATCH", todo, token=user.access, body={"title": "edited"}, headers=match
            )
        else:
            status, headers, _ = await connection.request("PATCH", f"{todo}/toggle", token=user.access, headers=match)
        if status == 200:
            user.todo_version = int(headers["etag"].strip('W/"'))
    else:  # refresh: the pair rotates
        status, _, payload = await connection.request(
            "POST", "/api/v1/auth/refresh", body={"refresh_token": user.refresh}
        )
        if status == 200:
            tokens = json.loads(payload)
            user.access, user.refresh = tokens["access_token"], tokens["refresh_token"]
    ok = 200 <= status < 300
    return ok, str(status)


async def _read_row(connection: Connection, _user: User, _op: str, _post_id: str) -> tuple[bool, str]:
    status, _, _ = await connection.request("GET", f"/rows/{random.randint(1, 1000)}")
    return status == 200, str(status)


async def _live(
    user: User,
    mix: Mix,
    post_id: str,
    think: float,
    start_after: float,
    stop: asyncio.Event,
    tally: Tally,
) -> None:
    await asyncio.sleep(start_after)
    ops, weights = zip(*mix, strict=True)
    act = _read_row if mix is CEILING_MIX else _act
    connection: Connection | None = None
    try:
        connection = await Connection.open()
    except OSError as error:
        tally.record(True, "connect", 0.0, False, type(error).__name__)  # a user lost: always counted
        return
    tally.live += 1
    try:
        await asyncio.sleep(random.uniform(0, think))  # spread the first requests
        while not stop.is_set():
            op = random.choices(ops, weights)[0]
            counted, started = tally.measuring, time.perf_counter()
            try:
                if connection is None:
                    connection = await Connection.open()
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    ok, detail = await act(connection, user, op, post_id)
            except Exception as error:  # noqa: BLE001 - any failure is this request's error, and the user goes on
                tally.record(counted, op, time.perf_counter() - started, False, type(error).__name__)
                if connection is not None:
                    connection.close()
                connection = None  # a new connection for the next request
            else:
                tally.record(counted, op, time.perf_counter() - started, ok, detail)
            await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))
    finally:
        tally.live -= 1
        if connection is not None:
            connection.close()


def _workers_rss_mib(server: subprocess.Popen[bytes]) -> list[float]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        if b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes():
            continue  # multiprocessing's helper, not a worker
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def _cpu_by_program(server: subprocess.Popen[bytes]) -> dict[str, float]:
    """CPU seconds used so far by this generator, the serve process tree, PostgreSQL's
    processes and Redis: where the two shared cores go."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    totals = {"generator": own.ru_utime + own.ru_stime, "server": cpu_seconds(server.pid)}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        program = "postgresql" if name.startswith("postgres") else "redis" if name.startswith("redis-server") else None
        if program:
            fields = text.rsplit(")", 1)[1].split()
            totals[program] = totals.get(program, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _report(tally: Tally, mix: Mix, seconds: float, rss: list[float], users: int, cpu: dict[str, float]) -> None:
    print(f"\n{'operation':10} {'count':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    total = 0
    worst_p95 = 0.0
    for op, _ in mix:
        ordered = sorted(tally.samples[op])
        total += len(ordered)
        errors = sum(n for key, n in tally.errors.items() if key.startswith(f"{op}:"))
        if not ordered:
            print(f"{op:10} {0:8}")
            continue
        p95 = _percentile(ordered, 0.95)
        worst_p95 = max(worst_p95, p95)
        print(
            f"{op:10} {len(ordered):8} {_percentile(ordered, 0.5):8.1f} {p95:8.1f} "
            f"{_percentile(ordered, 0.99):8.1f} {errors:7}"
        )
    errors_total = sum(tally.errors.values())
    print(f"\n{users} users, {total} requests in {seconds:.0f} s: {total / seconds:.0f} req/s; errors {errors_total}")
    for key, count in sorted(tally.errors.items()):
        print(f"  {key}: {count}")
    print("server workers RSS: " + ", ".join(f"{size:.0f} MiB" for size in rss))
    cores = os.cpu_count() or 1
    shares = ", ".join(f"{program} {used / seconds:.2f}" for program, used in cpu.items())
    idle = cores - sum(cpu.values()) / seconds
    print(f"cores busy in the window (of {cores}): {shares}; the rest {idle:.2f}")
    if total:
        print(f"server CPU per request: {cpu['server'] / total * 1e6:.0f} µs")
    met = worst_p95 < 200 and errors_total == 0
    verdict = "met " if met else "MISS"
    print(f"  [{verdict}] p95 < 200 ms on every operation, zero errors (worst p95 {worst_p95:.1f} ms)")


async def _run(
    args: argparse.Namespace,
    mix: Mix,
    users: list[User],
    post_id: str,
    server: subprocess.Popen[bytes],
) -> None:
    # The generator's own collector must not pause the measuring: 10,000 users' state is
    # long-lived, and at Python's default thresholds full collections over it took up to
    # 0.7 s. What lives now is frozen; the server does the same (GC_THRESHOLDS).
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    tally, stop = Tally(), asyncio.Event()
    tasks = [
        asyncio.create_task(_live(user, mix, post_id, args.think, args.ramp * i / len(users), stop, tally))
        for i, user in enumerate(users)
    ]
    await asyncio.sleep(args.ramp + args.think)  # every connection open and past its first think
    print(f"ramped up: {tally.live} of {len(users)} users connected; measuring {args.duration} s")
    tally.measuring, window = True, time.monotonic()
    cpu_before = _cpu_by_program(server)
    await asyncio.sleep(args.duration)
    cpu_after = _cpu_by_program(server)
    tally.measuring, window = False, time.monotonic() - window
    cpu = {program: cpu_after[program] - cpu_before.get(program, 0.0) for program in cpu_after}
    live_at_end = tally.live
    rss = _workers_rss_mib(server)
    stop.set()
    # Requests that started in the window end (or time out) and are recorded.
    await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 1.5 * args.think + 1)
    for task in tasks:
        task.cancel()
    print(f"users still connected at the window's end: {live_at_end}")
    _report(tally, mix, window, rss, len(users), cpu)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--think", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--ramp", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ceiling", action="store_true", help="the bare ceiling app instead of portside")
    add_tracing_argument(parser)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.users + 1000:
        raise SystemExit(f"open files limit {hard} is too low for {args.users} connections")
    asyncio.run(recreate_database(DATABASE))
    if args.ceiling:
        return _ceiling(args)
    subprocess.run(
        [*PORTSIDE, "migrate"], env=_environment(1, seeding=True, tracing={}), cwd=ROOT, check=True, capture_output=True
    )
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    users = [User(f"user-{i}@bench.example") for i in range(args.users)]
    began = time.monotonic()
    with _serving(_environment(args.workers, seeding=True, tracing={}), "users-seed.log"):
        post_id = uvloop.run(_seed(users))
    print(f"seeded {len(users)} users (register, login, a todo each) in {time.monotonic() - began:.0f} s")
    share = "" if args.tracing is None else f", tracing {args.tracing:.0%} of requests"
    print(
        f"bench-users: {args.users} users, think {args.think} s, {args.duration} s measured, "
        f"{args.workers} workers, production profile{share}"
    )
    with (
        traced(args.tracing) as tracing,
        _serving(_environment(args.workers, seeding=False, tracing=tracing), "users-serve.log") as server,
    ):
        uvloop.run(_run(args, MIX, users, post_id, server))
    return 0


def _ceiling(args: argparse.Namespace) -> int:
    """The same load on the bare ceiling app: uvicorn as ``portside serve`` runs it (uvloop,
    httptools, no access log, idle connections kept 75 s), ``args.workers`` workers."""
    asyncio.run(create_reference_rows(DATABASE))
    asyncio.run(analyze(DATABASE))
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    server = run._server_command("uvicorn", "bench.reference_app:app", PORT, args.workers, factory=False)
    command = [*server, "--timeout-keep-alive", "75"]
    env = {**os.environ, "BENCH_REFERENCE_DSN": dsn_of(DATABASE)}
    print(
        f"bench-users --ceiling: {args.users} users, think {args.think} s, {args.duration} s measured, "
        f"{args.workers} workers, one row by primary key per request"
    )
    users = [User(f"user-{i}") for i in range(args.users)]
    with _serving(env, "users-ceiling.log", command=command, ready="/json") as server:
        uvloop.run(_run(args, CEILING_MIX, users, "", server))
    return 0


@contextlib.contextmanager
def _serving(
    env: dict[str, str], log_name: str, *, command: list[str] | None = None, ready: str = "/health"
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` (``portside serve`` by default) with ``env`` while the block runs, once it
    answers 200 on ``ready``; its output goes to ``bench/results/<log_name>``."""
    log = (ROOT / "bench" / "results" / log_name).open("wb")
    server = subprocess.Popen(command or [*PORTSIDE, "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                asyncio.run(_ping(ready))
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"portside serve did not answer; see bench/results/{log_name}")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


async def _ping(path: str) -> None:
    connection = await Connection.open()
    try:
        status, _, _ = await connection.request("GET", path)
        if status != 200:
            raise OSError("not ready")
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
