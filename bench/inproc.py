"""`make bench-inproc`: CPU per request of the served app, driven in-process as ASGI.

No server and no network: the production app (``app_factory``, PostgreSQL and Redis, metrics
and the access log on, the log written to ``/dev/null``) and the ceiling's bare Litestar app
are called one request at a time from one coroutine, each row for ``--seconds``. What is
printed per row is this process's CPU per request (``time.process_time``; PostgreSQL's own
CPU is not in it) and the wall time per request (a round trip to PostgreSQL included).

It measures what wrk through uvicorn blurs: the VM's swings move both apps alike within a
run, and no load generator shares the cores. The ratio is the ceiling's one-row CPU over
portside's, the one-process ratio issue 15 asks about minus the server's share.

    .venv/bin/python -m bench.inproc [--seconds 3] [--only SUBSTRING] [--profile SUBSTRING] [--tracing [RATIO]]

``--profile`` runs the matching rows under cProfile and prints the 40 costliest functions by
their own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.harness import analyze, create_reference_rows, dsn_of, production_settings, recreate_database
from bench.otlp_sink import add_tracing_argument, traced

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "portside_bench_inproc"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

Message = dict[str, Any]
Asgi = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
Request = Callable[[int], tuple[str, str, dict[str, str], bytes]]
"""The ``n``-th request of a row: method, path, headers and body."""


class Reply:
    def __init__(self) -> None:
        self.status = 0
        self.body = b""

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def json(self) -> Any:
        return json.loads(self.body)


async def call(app: Asgi, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Reply:
    query = b""
    if "?" in path:
        path, raw = path.split("?", 1)
        query = raw.encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"127.0.0.1:8000"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    reply = Reply()
    await app(scope, receive, reply.send)
    return reply


class Lifespan:
    """The ASGI lifespan of ``app``, entered and left like a context manager."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        if message["type"] != "lifespan.startup.complete":
            raise SystemExit(f"start-up failed: {message}")

    async def __aexit__(self, *_: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        await self.task


def _environment() -> dict[str, str]:
    return {**production_settings(DATABASE, REDIS_URL), "BENCH_REFERENCE_DSN": dsn_of(DATABASE)}


async def _seed(app: Asgi) -> dict[str, Any]:
    creds = json.dumps({"email": "inproc@example.com", "password": "correct horse battery staple"}).encode()
    typed = {"content-type": "application/json"}
    await call(app, "POST", "/api/v1/auth/register", typed, creds)
    token = (await call(app, "POST", "/api/v1/auth/login", typed, creds)).json()["access_token"]
    auth = {"authorization": f"Bearer {token}"}
    ids = []
    for n in range(1000):
        body = json.dumps({"title": f"todo {n}"}).encode()
        ids.append((await call(app, "POST", "/api/v1/todos", auth | typed, body)).json()["id"])
    posts = []
    for n in range(50):
        body = json.dumps({"title": f"Post {n}", "content": f"Body {n}.", "tags": ["t"], "published": True}).encode()
        posts.append((await call(app, "POST", "/api/v1/posts", auth | typed, body)).json()["id"])
    await analyze(DATABASE)
    return {"auth": auth, "typed": typed, "ids": ids, "posts": posts}


def _rows(seed: dict[str, Any]) -> list[tuple[str, str, Request]]:
    auth, typed, ids, posts = seed["auth"], seed["typed"], seed["ids"], seed["posts"]
    patch = json.dumps({"title": "edited"}).encode()
    create = json.dumps({"title": "new"}).encode()
    return [
        ("ceiling: plain JSON", "ceiling", lambda i: ("GET", "/json", {}, b"")),
        ("ceiling: one row by id", "ceiling", lambda i: ("GET", f"/rows/{i % 1000 + 1}", {}, b"")),
        ("GET /health", "portside", lambda i: ("GET", "/health", {}, b"")),
        ("GET /auth/me", "portside", lambda i: ("GET", "/api/v1/auth/me", auth, b"")),
        ("GET /todos/{id}", "portside", lambda i: ("GET", f"/api/v1/todos/{ids[i % 200]}", auth, b"")),
        ("GET /todos?size=20", "portside", lambda i: ("GET", "/api/v1/todos?size=20", auth, b"")),
        ("GET /posts/{id} anonymous", "portside", lambda i: ("GET", f"/api/v1/posts/{posts[i % 50]}", {}, b"")),
        ("POST /todos", "portside", lambda i: ("POST", "/api/v1/todos", auth | typed, create)),
        (
            "PATCH /todos/{id} If-Match: *",
            "portside",
            lambda i: ("PATCH", f"/api/v1/todos/{ids[i % 200]}", auth | typed | {"if-match": "*"}, patch),
        ),
    ]


async def _measure(app: Asgi, request: Request, seconds: float) -> tuple[int, float, float, int]:
    for i in range(200):  # warm-up
        await call(app, *request(i))
    n, bad = 0, 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deadline = wall0 + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            reply = await call(app, *request(n))
            bad += reply.status >= 400
            n += 1
    return n, time.process_time() - cpu0, time.perf_counter() - wall0, bad


def _prepare(args: argparse.Namespace) -> dict[str, Asgi]:
    """A fresh database (the ceiling's table and portside's schema), an empty Redis database,
    and both apps; the served app reads its settings from this process's environment."""
    asyncio.run(recreate_database(DATABASE))
    asyncio.run(create_reference_rows(DATABASE))
    subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "migrate"],
        env=os.environ | _environment(),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        del os.environ[name]  # --tracing and --env decide
    os.environ.update(_environment() | dict(item.split("=", 1) for item in args.env))
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    from bench.reference_app import app as reference
    from entrypoints.http.asgi import app_factory

    # The access log and the app's lines go to /dev/null: configure_logging keeps this stream
    # for the life of the process.
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
    try:
        portside = app_factory()
    finally:
        sys.stdout = real_stdout
    return {"portside": portside, "ceiling": reference}  # type: ignore[dict-item]


async def _run(args: argparse.Namespace, apps: dict[str, Asgi]) -> None:
    async with Lifespan(apps["portside"]), Lifespan(apps["ceiling"]):
        seed = await _seed(apps["portside"])
        results: dict[str, float] = {}
        print(f"in-process, one request at a time, {args.seconds} s per row")
        for name, target, request in _rows(seed):
            if args.only and args.only not in name:
                continue
            profiler = cProfile.Profile() if args.profile and args.profile in name else None
            if profiler:
                profiler.enable()
            n, cpu, wall, bad = await _measure(apps[target], request, args.seconds)
            if profiler:
                profiler.disable()
            results[name] = cpu / n * 1e6
            print(f"  {name:32} {cpu / n * 1e6:7.0f} µs CPU  {wall / n * 1e6:7.0f} µs wall  n={n:6d}  errors={bad}")
            if profiler:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.filter, 40)
        row = results.get("ceiling: one row by id")
        if row:
            print("ratio (ceiling's one-row CPU ÷ row's CPU):")
            for name, cpu_us in results.items():
                if not name.startswith("ceiling"):
                    base = results.get("ceiling: plain JSON", row) if name == "GET /health" else row
                    print(f"  {name:32} {base / cpu_us:5.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE: a setting for the served app")
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime, cumulative, ...")
    parser.add_argument("--filter", default="", help="only functions whose path matches this regular expression")
    add_tracing_argument(parser)
    arguments = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with traced(arguments.tracing) as tracing_env:
        arguments.env += [f"{name}={value}" for name, value in tracing_env.items()]
        asyncio.run(_run(arguments, _prepare(arguments)))
