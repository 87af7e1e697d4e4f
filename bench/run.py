"""`make bench`: portside in the production profile against the stack's own ceiling.

Starts PostgreSQL-backed portside (Redis configured, N workers, JSON access log to a file)
and a bare Litestar + asyncpg reference app under the same ASGI server, seeds a user and
1,000 todos and 1,000 published posts, drives both with wrk, and prints one table (also written as JSON under
bench/results/). Besides req/s and latency, each row has the servers' CPU per request (user +
system, over all their processes): the shared VM's speed swings move it far less than req/s,
so it is the figure to compare between runs. Targets are reported, never asserted.

    .venv/bin/python -m bench.run [--workers 2] [--duration 15] [--server granian|uvicorn] [--tracing [RATIO]]

``--tracing`` runs portside with ``PORTSIDE_OTEL_ENDPOINT`` set to a local stand-in collector
(``bench.otlp_sink``): every request is traced and exported, as with the SDK's default
sampler, or with a ratio (``--tracing 0.1``) that share of the traces, chosen by the SDK's
``parentbased_traceidratio`` head sampler; the ceiling traces nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.harness import (
    analyze,
    cpu_seconds,
    create_reference_rows,
    dsn_of,
    production_settings,
    recreate_database,
)
from bench.otlp_sink import add_tracing_argument, traced

ROOT = Path(__file__).resolve().parents[1]
WRK = ROOT / "bench" / "wrk"
RESULTS = ROOT / "bench" / "results"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
DATABASE = "portside_bench"
PORTSIDE_PORT, REFERENCE_PORT = 8801, 8802
EMAIL, PASSWORD = "bench@example.com", "a-sturdy-bench-passphrase"
LOGIN_ACCOUNTS = 32  # the login rows spread over this many accounts (login-<i>@example.com)


@dataclass
class Result:
    name: str
    target: str
    connections: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    cpu_us: float = 0.0
    """Server CPU (user + system, every process of it) per request: unlike req/s, barely
    moved by how fast the shared VM runs that minute."""


async def _prepare_database() -> None:
    await recreate_database(DATABASE)
    await create_reference_rows(DATABASE)


def _server_command(server: str, app: str, port: int, workers: int, *, factory: bool) -> list[str]:
    """The same server settings for portside and the reference. portside under uvicorn is
    exactly `portside serve` (uvloop, httptools, its own access log)."""
    bin_dir = Path(sys.executable).parent
    if server == "uvicorn" and factory:
        return [str(bin_dir / "portside"), "serve"]
    if server == "granian":  # only for comparisons: pip install granian
        command = [
            str(bin_dir / "granian"),
            "--interface",
            "asgi",
            "--loop",
            "uvloop",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-ws",
            "--log-level",
            "warning",
        ]
        return [*command, "--factory", app] if factory else [*command, app]
    command = [
        str(bin_dir / "uvicorn"),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return [*command, "--factory"] if factory else command


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
    return process


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise SystemExit(f"server exited early ({process.returncode}); see bench/results/*.log")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


async def _seed() -> tuple[str, list[str], list[str]]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORTSIDE_PORT}/api/v1", timeout=30) as client:
        await client.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
        for i in range(1, LOGIN_ACCOUNTS + 1):
            await client.post("/auth/register", json={"email": f"login-{i}@example.com", "password": PASSWORD})
        token = (await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids: list[str] = []
        for start in range(0, 1000, 50):
            batch = [
                client.post("/todos", json={"title": f"todo {n}"}, headers=headers) for n in range(start, start + 50)
            ]
            ids += [response.json()["id"] for response in await asyncio.gather(*batch)]
        post_ids: list[str] = []
        for start in range(0, 1000, 50):
            posts = [
                client.post(
                    "/posts",
                    json={
                        "title": f"Post {n}",
                        "content": f"The body of post {n}.",
                        "tags": [f"t{n % 10}"],
                        "published": True,
                    },
                    headers=headers,
                )
                for n in range(start, start + 50)
            ]
            post_ids += [response.json()["id"] for response in await asyncio.gather(*posts)]
    await analyze(DATABASE)
    return token, ids, post_ids


def _script(name: str) -> Path:
    """bench/wrk/<name>.lua with the JSON reporter appended, written under bench/results/."""
    combined = RESULTS / f".{name}.lua"
    combined.write_text((WRK / f"{name}.lua").read_text() + "\n" + (WRK / "report.lua").read_text())
    return combined


def _wrk(
    url: str,
    connections: int,
    seconds: int,
    script: str,
    env: dict[str, str],
    *,
    warmup: bool = True,
    server: int | None = None,
) -> dict[str, float]:
    """wrk's figures, and ``cpu_s``: what the ``server`` process tree spent meanwhile."""
    base = ["wrk", "-t1", f"-c{connections}", "--latency", "-s", str(_script(script))]
    if warmup:
        subprocess.run([*base, "-d3s", url], env=env, capture_output=True, check=True)
    before = cpu_seconds(server) if server else 0.0
    out = subprocess.run(
        [*base, f"-d{seconds}s", "--timeout", "5s", url], env=env, capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))
    data: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
    data["cpu_s"] = cpu_seconds(server) - before if server else 0.0
    return data


def _result(name: str, target: str, connections: int, data: dict[str, float]) -> Result:
    requests = max(data["requests"], 1)
    return Result(
        name=name,
        target=target,
        connections=connections,
        rps=round(data["requests"] / (data["duration_us"] / 1e6), 1),
        p50_ms=round(data["p50_us"] / 1000, 2),
        p90_ms=round(data["p90_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        non2xx=int(data["non2xx"]),
        socket_errors=int(data["socket_errors"]),
        cpu_us=round(data.get("cpu_s", 0.0) / requests * 1e6, 1),
    )


def _run_all(seconds: int, token: str, ids: list[str], post_ids: list[str], servers: dict[str, int]) -> list[Result]:
    env = {
        **os.environ,
        "BENCH_TOKEN": token,
        "BENCH_IDS": ",".join(ids[:200]),
        "BENCH_POST_IDS": ",".join(post_ids[:200]),
        "BENCH_PASSWORD": PASSWORD,
        "BENCH_LOGIN_ACCOUNTS": str(LOGIN_ACCOUNTS),
    }
    p = f"http://127.0.0.1:{PORTSIDE_PORT}"
    r = f"http://127.0.0.1:{REFERENCE_PORT}"
    plan = [
        ("ceiling: plain JSON", "ceiling", 64, f"{r}/json", "get"),
        ("ceiling: one row by id", "ceiling", 64, f"{r}/rows/", "get_rows"),
        ("ceiling: one row by id", "ceiling", 256, f"{r}/rows/", "get_rows"),
        ("GET /health", "portside", 64, f"{p}/health", "get"),
        ("GET /auth/me", "portside", 64, f"{p}/api/v1/auth/me", "get"),
        ("GET /todos?size=20", "portside", 64, f"{p}/api/v1/todos?size=20", "get"),
        ("GET /todos/{id}", "portside", 64, f"{p}/api/v1/todos/", "get_many"),
        ("GET /todos/{id}", "portside", 256, f"{p}/api/v1/todos/", "get_many"),
        ("GET /posts?size=20 anonymous", "portside", 64, f"{p}/api/v1/posts?size=20", "get_anonymous"),
        ("GET /posts/{id} anonymous", "portside", 64, f"{p}/api/v1/posts/", "get_many_anonymous"),
        ("POST /todos", "portside", 64, f"{p}/api/v1/todos", "post_todo"),
        ("PATCH /todos/{id} If-Match: *", "portside", 64, f"{p}/api/v1/todos/", "patch_todo"),
        ("POST /auth/login", "portside", 8, f"{p}/api/v1/auth/login", "login"),
    ]
    results = []
    for name, target, connections, url, script in plan:
        print(f"  {target:8} {name:32} c={connections:<4}", end="", flush=True)
        data = _wrk(url, connections, seconds, script, env, server=servers[target])
        result = _result(name, target, connections, data)
        print(f" {result.rps:9.1f} req/s  p99 {result.p99_ms:7.2f} ms  {result.cpu_us:6.0f} µs CPU/req")
        results.append(result)
    results.append(_mixed(seconds, env, p, servers["portside"]))
    return results


def _mixed(seconds: int, env: dict[str, str], p: str, server: int) -> Result:
    """Reads at 64 connections while 16 connections log in continuously."""
    print(f"  {'portside':8} {'GET /todos/{id} during logins':32} c=64  ", end="", flush=True)
    flood = subprocess.Popen(
        ["wrk", "-t1", "-c16", f"-d{seconds + 2}s", "-s", str(_script("login")), f"{p}/api/v1/auth/login"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    data = _wrk(f"{p}/api/v1/todos/", 64, seconds, "get_many", env, warmup=False, server=server)
    flood.wait()
    result = _result("GET /todos/{id} during logins", "portside", 64, data)
    print(f" {result.rps:9.1f} req/s  p99 {result.p99_ms:7.2f} ms")
    return result


def _ratios(results: list[Result]) -> dict[str, float]:
    def find(name: str, connections: int) -> Result:
        return next(r for r in results if r.name == name and r.connections == connections)

    row, js = find("ceiling: one row by id", 64), find("ceiling: plain JSON", 64)
    ratios = {}
    for r in results:
        if r.target == "portside":
            base = js if r.name == "GET /health" else row
            if r.connections == 256:
                base = find("ceiling: one row by id", 256)
            ratios[f"{r.name} c={r.connections}"] = round(r.rps / base.rps, 2)
    return ratios


def _targets(results: list[Result], ratios: dict[str, float]) -> list[tuple[str, bool]]:
    def find(name: str, connections: int) -> Result:
        return next(r for r in results if r.name == name and r.connections == connections)

    portside = [r for r in results if r.target == "portside"]
    return [
        ("GET /todos/{id} >= 0.5 x one-row ceiling", ratios["GET /todos/{id} c=64"] >= 0.5),
        ("GET /posts/{id} >= 0.5 x one-row ceiling", ratios["GET /posts/{id} anonymous c=64"] >= 0.5),
        ("/health >= 0.6 x JSON ceiling", ratios["GET /health c=64"] >= 0.6),
        (
            "list and writes >= 0.35 x one-row ceiling",
            all(
                ratios[k] >= 0.35
                for k in ("GET /todos?size=20 c=64", "POST /todos c=64", "PATCH /todos/{id} If-Match: * c=64")
            ),
        ),
        (
            "zero errors and no stall at 256 connections",
            all(r.non2xx == 0 and r.socket_errors == 0 and r.rps > 0 for r in portside if r.connections == 256),
        ),
        ("read p99 at 64 connections < 100 ms", find("GET /todos/{id}", 64).p99_ms < 100),
        (
            "reads' p99 during logins < 3 x without",
            find("GET /todos/{id} during logins", 64).p99_ms < 3 * find("GET /todos/{id}", 64).p99_ms,
        ),
    ]


def _print_table(results: list[Result], ratios: dict[str, float], targets: list[tuple[str, bool]]) -> None:
    print(
        f"\n{'workload':40} {'conn':>5} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non2xx':>7} "
        f"{'sock err':>8} {'ratio':>6} {'cpu µs':>7}"
    )
    for r in results:
        key = f"{r.name} c={r.connections}"
        ratio = f"{ratios[key]:.2f}" if key in ratios else ""
        print(
            f"{(r.target + ': ' + r.name) if r.target == 'portside' else r.name:40} {r.connections:5} {r.rps:9.1f} "
            f"{r.p50_ms:8.2f} {r.p90_ms:8.2f} {r.p99_ms:8.2f} {r.non2xx:7} {r.socket_errors:8} {ratio:>6} "
            f"{r.cpu_us:7.0f}"
        )
    print()
    for text, met in targets:
        print(f"  [{'met ' if met else 'MISS'}] {text}")


def _share(ratio: float) -> str:
    return "every request" if ratio >= 1 else f"{ratio:.0%} of requests"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    add_tracing_argument(parser)
    args = parser.parse_args()
    with traced(args.tracing) as tracing_env:
        return _bench(args, tracing_env)


def _bench(args: argparse.Namespace, tracing_env: dict[str, str]) -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    asyncio.run(_prepare_database())
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("OTEL_")},  # --tracing decides
        **production_settings(DATABASE, REDIS_URL),
        "PORTSIDE_WORKERS": str(args.workers),
        "PORTSIDE_HOST": "127.0.0.1",
        "PORTSIDE_PORT": str(PORTSIDE_PORT),
        "PORTSIDE_VAR_DIR": str(RESULTS / "var"),
        "BENCH_REFERENCE_DSN": dsn_of(DATABASE),
    }
    env |= tracing_env
    subprocess.run([str(Path(sys.executable).parent / "portside"), "migrate"], env=env, check=True, capture_output=True)
    portside = _start(
        _server_command(args.server, "entrypoints.http.asgi:app_factory", PORTSIDE_PORT, args.workers, factory=True),
        env,
        RESULTS / f"{stamp}-portside.log",
    )
    reference = _start(
        _server_command(args.server, "bench.reference_app:app", REFERENCE_PORT, args.workers, factory=False),
        env,
        RESULTS / f"{stamp}-reference.log",
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{PORTSIDE_PORT}/health", portside)
        _wait_until_up(f"http://127.0.0.1:{REFERENCE_PORT}/json", reference)
        token, ids, post_ids = asyncio.run(_seed())
        tracing = f", portside tracing {_share(args.tracing)}" if args.tracing else ""
        each = f"{args.workers} workers each, wrk -t1, {args.duration} s per run"
        print(f"portside vs ceiling, {args.server}, {each}{tracing}")
        results = _run_all(args.duration, token, ids, post_ids, {"portside": portside.pid, "ceiling": reference.pid})
    finally:
        for process in (portside, reference):
            process.terminate()
            process.wait(timeout=15)
    ratios = _ratios(results)
    targets = _targets(results, ratios)
    _print_table(results, ratios, targets)
    machine = {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.uname().machine,
    }
    out = RESULTS / f"{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "at": stamp,
                "server": args.server,
                "workers": args.workers,
                "tracing": args.tracing or 0.0,
                "machine": machine,
                "results": [asdict(r) for r in results],
                "ratios": ratios,
                "targets": {text: met for text, met in targets},
            },
            indent=2,
        )
    )
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
