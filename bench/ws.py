"""`make bench-ws`: N authenticated sockets on /api/v1/ws against ONE `portside serve` process.

Starts `portside serve` (one worker, `memory://`: the in-process broadcaster and relay; cheap
hashing; access log off; rate limits off, since every login comes from 127.0.0.1) on a free
port, registers one user per 100 sockets and logs each in once per socket (every socket has
its own session and access token), then:

- opens N sockets from client processes (`websockets`, no compression, a cap on how many
  opens are in flight at once), each authenticated (`?token=` or the first message) and
  waiting for its `auth.ok`; prints the time to open them all, the failures (goal: none) and
  the server's RSS (VmRSS of the serving process) before and after, per socket;
- publishes a post over HTTP (`POST /api/v1/posts`, `published: true`), which the relay
  announces to every socket as `post.published`, and measures from the POST's response to
  each socket's receipt (time.monotonic is CLOCK_MONOTONIC, system-wide on Linux, so the
  client processes' clocks compare with this one's); p50/p99/max and how many got it.
  Repeated --broadcasts times.

Numbers are printed, never asserted. The machine's other load shows in the load average
printed at the start and the end: on 2 cores, the server and the clients share them.

    .venv/bin/python -m bench.ws [--sockets 10000] [--per-user 100] [--clients 2]
                                 [--open-concurrency 200] [--broadcasts 3] [--auth query|message]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import multiprocessing
import os
import platform
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "a-sturdy-bench-passphrase-ws"
AUTH_OK_TIMEOUT = 60.0
DELIVERY_TIMEOUT = 60.0


# --------------------------------------------------------------------------- helpers


def raise_open_files_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (each socket is a descriptor); the new pair."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def listening_pids_check(pid: int, port: int) -> str:
    """Which process holds the listening socket on ``port``: the RSS must be read there."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    mine = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        children += Path(f"/proc/{pid}/task/{task}/children").read_text().split()
    if not inodes & mine:
        raise SystemExit(f"pid {pid} does not hold the listening socket on port {port}: RSS would be wrong")
    return f"pid {pid} holds the listening socket on :{port}; child processes: {len(children)}"


def pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# --------------------------------------------------------------------------- client process


@dataclass
class _ClientState:
    sockets: list[Any] = field(default_factory=list)
    received: list[tuple[float, str]] = field(default_factory=list)
    dropped: collections.Counter[str] = field(default_factory=collections.Counter)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    target: int = 0
    """Set ``arrived`` once this many messages are in ``received``."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


async def _read_forever(ws: Any, state: _ClientState) -> None:
    """Stamp each message on arrival; parse later, so parsing never delays a stamp."""
    from websockets.exceptions import ConnectionClosed

    received, arrived = state.received, state.arrived
    monotonic = time.monotonic
    try:
        async for message in ws:
            received.append((monotonic(), message))
            if len(received) >= state.target:
                arrived.set()
    except ConnectionClosed:
        pass
    code = ws.close_code
    if code is not None and code != 1000:
        state.dropped[f"closed by server: {code} {ws.close_reason}"] += 1


async def _open_all(url: str, tokens: list[str], concurrency: int, auth: str, state: _ClientState) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(concurrency)
    errors: collections.Counter[str] = collections.Counter()
    durations: list[float] = []

    async def one(token: str) -> None:
        async with gate:
            started = time.monotonic()
            target = f"{url}?token={token}" if auth == "query" else url
            try:
                ws = await connect(
                    target, compression=None, open_timeout=AUTH_OK_TIMEOUT, ping_interval=None, close_timeout=5
                )
            except Exception as error:  # noqa: BLE001 - every failure is counted by kind
                errors[f"open: {type(error).__name__}: {str(error)[:80]}"] += 1
                return
            try:
                if auth == "message":
                    await ws.send(json.dumps({"type": "auth", "token": token}))
                first = await asyncio.wait_for(ws.recv(), AUTH_OK_TIMEOUT)
            except Exception as error:  # noqa: BLE001
                errors[f"no auth.ok: {type(error).__name__}: {str(error)[:80]}"] += 1
                await ws.close()
                return
            if json.loads(first).get("type") != "auth.ok":
                errors[f"no auth.ok: first message {str(first)[:60]}"] += 1
                await ws.close()
                return
            durations.append(time.monotonic() - started)
        state.sockets.append(ws)
        state.readers.append(asyncio.create_task(_read_forever(ws, state)))

    began = time.monotonic()
    await asyncio.gather(*(one(token) for token in tokens))
    ended = time.monotonic()
    return {"ok": len(state.sockets), "errors": dict(errors), "began": began, "ended": ended, "durations": durations}


async def _await_post(post_id: str, expected: int, state: _ClientState, start_index: int) -> dict[str, Any]:
    """Wait until ``expected`` new messages arrived (or the timeout); the stamps of the ones
    that are this post's ``post.published``."""
    state.target = start_index + expected
    if len(state.received) < state.target:
        state.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.arrived.wait(), DELIVERY_TIMEOUT)
    stamps, other = [], 0
    for stamp, message in state.received[start_index:]:
        event = json.loads(message)
        if event.get("type") == "post.published" and event.get("data", {}).get("id") == post_id:
            stamps.append(stamp)
        else:
            other += 1
    return {"stamps": stamps, "other": other, "next_index": len(state.received)}


async def _close_all(state: _ClientState) -> float:
    began = time.monotonic()
    gate = asyncio.Semaphore(500)

    async def close(ws: Any) -> None:
        async with gate:
            with contextlib.suppress(Exception):  # closing is best effort
                await asyncio.wait_for(ws.close(), 10)

    await asyncio.gather(*(close(ws) for ws in state.sockets))
    for reader in state.readers:
        reader.cancel()
    await asyncio.gather(*state.readers, return_exceptions=True)
    return time.monotonic() - began


def client_main(conn: Connection) -> None:
    """One client process: opens its share of sockets and answers the coordinator's commands."""
    raise_open_files_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_client_loop(conn))


async def _client_loop(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    state = _ClientState()
    index = 0
    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            url, tokens, concurrency, auth = args
            conn.send(("opened", await _open_all(url, tokens, concurrency, auth, state)))
        elif command == "await":
            (post_id,) = args
            live = len(state.sockets) - sum(1 for reader in state.readers if reader.done())
            result = await _await_post(post_id, live, state, index)
            index = result.pop("next_index")
            result["live"] = live
            result["dropped"] = dict(state.dropped)
            conn.send(("received", result))
        elif command == "close":
            conn.send(("closed", await _close_all(state)))
            return


# --------------------------------------------------------------------------- coordinator


def _server_env(port: int, var_dir: Path, access_ttl: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_")},
        "PORTSIDE_DATABASE_URL": "memory://",
        "PORTSIDE_WORKERS": "1",
        "PORTSIDE_HOST": "127.0.0.1",
        "PORTSIDE_PORT": str(port),
        "PORTSIDE_JWT_SECRET": secrets.token_urlsafe(48),
        "PORTSIDE_VAR_DIR": str(var_dir),
        "PORTSIDE_UPLOAD_DIR": str(var_dir / "uploads"),
        "PORTSIDE_ARGON2_MEMORY_KIB": "1024",
        "PORTSIDE_ARGON2_ITERATIONS": "1",
        "PORTSIDE_ACCESS_LOG": "off",
        "PORTSIDE_LOG_LEVEL": "warning",
        # Off: the login and registration throttles per client address (all of ours are
        # 127.0.0.1), the global registration throttle and the per-user API rate limit.
        "PORTSIDE_RATE_LIMITS": "off",
        # The lockout stays on with them off, and counts logins still in flight for one
        # e-mail as failures (at most the threshold at once, then 429): room for ours.
        "PORTSIDE_LOCKOUT_THRESHOLD": "1000",
        # A slow setup must not let the first tokens expire (4401) before the broadcasts.
        "PORTSIDE_ACCESS_TOKEN_TTL": str(access_ttl),
    }


async def _setup_tokens(
    base: str, sockets: int, per_user: int, concurrency: int
) -> tuple[list[str], str, dict[str, float]]:
    """Register ceil(sockets / per_user) users and log in once per socket; plus a publisher."""
    users = math.ceil(sockets / per_user)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", limits=limits, timeout=60) as client:

        async def register(email: str) -> None:
            async with gate:
                response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
            if response.status_code != 201:
                raise SystemExit(f"register {email}: {response.status_code} {response.text[:200]}")

        async def login(email: str) -> str:
            for _ in range(10):
                async with gate:
                    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
                if response.status_code != 429:
                    break
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            if response.status_code != 200:
                raise SystemExit(f"login {email}: {response.status_code} {response.text[:200]}")
            token: str = response.json()["access_token"]
            return token

        began = time.monotonic()
        emails = [f"ws-{i}@example.com" for i in range(users)]
        await asyncio.gather(*(register(email) for email in [*emails, "publisher@example.com"]))
        registered = time.monotonic()
        tokens = await asyncio.gather(*(login(emails[n % users]) for n in range(sockets)))
        publisher = await login("publisher@example.com")
        ended = time.monotonic()
    return list(tokens), publisher, {"users": users, "register_s": registered - began, "login_s": ended - registered}


def _ask_all(pipes: list[Connection], message: tuple[Any, ...], expect: str) -> list[Any]:
    for pipe in pipes:
        pipe.send(message)
    answers = []
    for pipe in pipes:
        kind, payload = pipe.recv()
        assert kind == expect, (kind, expect)
        answers.append(payload)
    return answers


def _machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in ln
            ),
            "?",
        )
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return (
        f"nproc {os.cpu_count()} ({cpu}), {int(mem) / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass
class _Opened:
    sockets: int
    seconds: float
    errors: collections.Counter[str]
    rss_before_kib: int
    rss_after_kib: int

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.sockets)


@dataclass
class _Round:
    number: int
    delivered: int
    live: int
    post_s: float
    latencies: list[float]  # receipt minus the POST's response, sorted
    spread_s: float  # first receipt to last


GC_LOGGING_SERVE = """
import gc, sys, time
started = {}
def log(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        started["at"] = time.perf_counter()
        return
    pause = (time.perf_counter() - started.get("at", time.perf_counter())) * 1000
    print(f"gc: full collection {pause:.0f} ms, {len(gc.get_objects())} objects tracked", file=sys.stderr, flush=True)
gc.callbacks.append(log)
from entrypoints.cli import main
sys.exit(main(["serve"]))
"""
"""`portside serve` as `main(["serve"])` in the same process, logging each full (generation 2)
collection's pause to the server log (--gc-log)."""


@contextlib.contextmanager
def _server(port: int, access_ttl: int, gc_log: bool) -> Iterator[subprocess.Popen[bytes]]:
    """`portside serve` (this venv's console script: it runs uvicorn in its own process
    with one worker) until the block ends, then SIGTERM."""
    with tempfile.TemporaryDirectory(prefix="portside-bench-ws-") as tmp:
        log = Path(tmp) / "serve.log"
        command = (
            [sys.executable, "-c", GC_LOGGING_SERVE]
            if gc_log
            else [str(Path(sys.executable).parent / "portside"), "serve"]
        )
        env = _server_env(port, Path(tmp), access_ttl)
        with log.open("wb") as output:
            server = subprocess.Popen(command, env=env, cwd=tmp, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(f"http://127.0.0.1:{port}", server, log, timeout=30.0)
            yield server
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print("server did not stop within 15 s of SIGTERM; killed")
                server.kill()
                server.wait()
            noisy = [ln for ln in log.read_text(errors="replace").splitlines() if "warning: PORTSIDE_" not in ln]
            if noisy:
                print(f"server log ({len(noisy)} lines besides the start-up warnings), last 30:")
                for line in noisy[-30:]:
                    print(f"  {line}")


@contextlib.contextmanager
def _client_processes(count: int) -> Iterator[tuple[list[Connection], list[int]]]:
    ctx = multiprocessing.get_context("spawn")
    processes, pipes = [], []
    try:
        for _ in range(count):
            mine, theirs = ctx.Pipe()
            process = ctx.Process(target=client_main, args=(theirs,), daemon=True)
            process.start()
            processes.append(process)
            pipes.append(mine)
        yield pipes, [process.pid for process in processes if process.pid is not None]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)


def _clients_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def _open_phase(
    args: argparse.Namespace, pid: int, port: int, tokens: list[str], pipes: list[Connection], client_pids: list[int]
) -> _Opened:
    rss_before, fds_before, cpu_before = rss_kib(pid), fd_count(pid), cpu_seconds(pid)
    clients_before = _clients_cpu(client_pids)
    share = math.ceil(len(tokens) / len(pipes))
    per_client = max(1, args.open_concurrency // len(pipes))
    url = f"ws://127.0.0.1:{port}/api/v1/ws"
    for i, pipe in enumerate(pipes):
        pipe.send(("open", url, tokens[i * share : (i + 1) * share], per_client, args.auth))
    opened = []
    for pipe in pipes:
        kind, payload = pipe.recv()
        assert kind == "opened"
        opened.append(payload)
    seconds = max(o["ended"] for o in opened) - min(o["began"] for o in opened)
    cpu_open = cpu_seconds(pid) - cpu_before
    cpu_clients = _clients_cpu(client_pids) - clients_before
    errors: collections.Counter[str] = collections.Counter()
    for o in opened:
        errors.update(o["errors"])
    durations = sorted(d for o in opened for d in o["durations"])
    time.sleep(1.0)
    result = _Opened(sum(o["ok"] for o in opened), seconds, errors, rss_before, rss_kib(pid))
    ok, n = result.sockets, len(tokens)
    print(
        f"open      {ok}/{n} sockets authenticated (auth.ok) in {seconds:.2f} s ({ok / seconds:.0f}/s; "
        f"{args.open_concurrency} opens in flight, {len(pipes)} client processes, "
        f"auth by {'?token=' if args.auth == 'query' else 'first message'}); CPU: server {cpu_open:.1f} s, "
        f"clients {cpu_clients:.1f} s"
    )
    if durations:
        print(
            f"          per-socket open+auth: p50 {pct(durations, 0.5) * 1000:.1f} ms, "
            f"p99 {pct(durations, 0.99) * 1000:.1f} ms, max {durations[-1] * 1000:.1f} ms"
        )
    print(f"errors    {sum(errors.values())}" + (":" if errors else ""))
    for kind, count in errors.most_common(10):
        print(f"          {count:6d}  {kind}")
    print(
        f"rss       server VmRSS {rss_before / 1024:.1f} MiB before, {result.rss_after_kib / 1024:.1f} MiB "
        f"with {ok} sockets: +{(result.rss_after_kib - rss_before) / 1024:.1f} MiB, "
        f"{result.kib_per_socket:.1f} KiB per socket (server fds {fds_before} -> {fd_count(pid)})"
    )
    return result


def _broadcast(
    http: httpx.Client, number: int, publisher: str, pid: int, pipes: list[Connection], client_pids: list[int]
) -> _Round:
    body = {"title": f"Broadcast {number}", "content": f"Broadcast {number} to every socket.", "published": True}
    cpu_before, clients_before = cpu_seconds(pid), _clients_cpu(client_pids)
    sent = time.monotonic()
    response = http.post("/posts", json=body, headers={"Authorization": f"Bearer {publisher}"})
    answered = time.monotonic()
    if response.status_code != 201:
        raise SystemExit(f"POST /posts: {response.status_code} {response.text[:300]}")
    answers = _ask_all(pipes, ("await", response.json()["id"]), "received")
    cpu_round = cpu_seconds(pid) - cpu_before
    cpu_clients = _clients_cpu(client_pids) - clients_before
    stamps = sorted(s for a in answers for s in a["stamps"])
    live, other = sum(a["live"] for a in answers), sum(a["other"] for a in answers)
    dropped: collections.Counter[str] = collections.Counter()
    for a in answers:
        dropped.update(a["dropped"])
    latencies = [s - answered for s in stamps]
    result = _Round(number, len(stamps), live, answered - sent, latencies, stamps[-1] - stamps[0] if stamps else 0.0)
    line = (
        f"broadcast {number}: POST answered in {result.post_s * 1000:.1f} ms; {len(stamps)}/{live} live sockets got it"
    )
    if latencies:
        early = sum(1 for x in latencies if x < 0)
        line += (
            f"; after the response: p50 {pct(latencies, 0.5) * 1000:.1f} ms, p99 {pct(latencies, 0.99) * 1000:.1f} ms, "
            f"max {latencies[-1] * 1000:.1f} ms (first {latencies[0] * 1000:.1f} ms, first-to-last "
            f"{result.spread_s * 1000:.1f} ms; max since the POST was sent {(stamps[-1] - sent) * 1000:.1f} ms)"
            + (f"; {early} arrived before the response" if early else "")
        )
    line += f"; CPU: server {cpu_round:.2f} s, clients {cpu_clients:.2f} s"
    line += (f"; {other} other messages" if other else "") + (f"; dropped: {dict(dropped)}" if dropped else "")
    print(line)
    return result


def _tables(n: int, setup_s: float, opened: _Opened, rounds: list[_Round]) -> None:
    ok, errors = opened.sockets, sum(opened.errors.values())
    print()
    print("| sockets | open s | opens/s | errors | RSS before MiB | RSS after MiB | KiB/socket | setup s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {ok}/{n} | {opened.seconds:.2f} | {ok / opened.seconds:.0f} | {errors} | "
        f"{opened.rss_before_kib / 1024:.1f} | {opened.rss_after_kib / 1024:.1f} | {opened.kib_per_socket:.1f} | "
        f"{setup_s:.1f} |"
    )
    print()
    print("| broadcast | delivered | POST ms | first ms | p50 ms | p99 ms | max ms | first-to-last ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rounds:
        lat = r.latencies or [math.nan]
        print(
            f"| {r.number} | {r.delivered}/{r.live} | {r.post_s * 1000:.1f} | {lat[0] * 1000:.1f} | "
            f"{pct(lat, 0.5) * 1000:.1f} | {pct(lat, 0.99) * 1000:.1f} | {lat[-1] * 1000:.1f} | "
            f"{r.spread_s * 1000:.1f} |"
        )
    print()
    print(
        "Latencies run from the POST's response to each socket's receipt (stamped in the client processes).\n"
        "The relay polls the outbox every 100 ms when idle (RelayRules.idle_delay), so 'first' carries\n"
        "0-100 ms of that wait; 'first-to-last' is the fan-out to every socket (server and clients)."
    )


def run(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    soft, hard = raise_open_files_limit()
    n = args.sockets
    print(f"bench-ws  {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine   {_machine()}; websockets {version('websockets')}, uvicorn {version('uvicorn')}")
    print(f"load avg  {_load()} (1/5/15 min) at start; RLIMIT_NOFILE here {soft}/{hard}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _server(port, args.access_ttl, args.gc_log) as server:
        limits = next(ln for ln in Path(f"/proc/{server.pid}/limits").read_text().splitlines() if "open files" in ln)
        print(f"server    `portside serve` at {base}, memory://, 1 worker; {listening_pids_check(server.pid, port)}")
        print(f"          server open files (soft/hard) {'/'.join(limits.split()[3:5])}")
        began = time.monotonic()
        tokens, publisher, setup = asyncio.run(_setup_tokens(base, n, args.per_user, args.setup_concurrency))
        setup_s = time.monotonic() - began
        print(
            f"setup     {setup['users']} users registered in {setup['register_s']:.1f} s, {n} logins "
            f"(one session and token per socket) in {setup['login_s']:.1f} s; setup total {setup_s:.1f} s"
        )
        with _client_processes(args.clients) as (pipes, client_pids):
            time.sleep(1.0)  # the clients start (and import) before the clock runs
            opened = _open_phase(args, server.pid, port, tokens, pipes, client_pids)
            rounds = []
            with httpx.Client(base_url=f"{base}/api/v1", timeout=60) as http:
                for number in range(1, args.broadcasts + 1):
                    time.sleep(args.pause)
                    rounds.append(_broadcast(http, number, publisher, server.pid, pipes, client_pids))
            rss_end = rss_kib(server.pid)
            closed_s = max(_ask_all(pipes, ("close",), "closed"))
        print(
            f"close     client sockets closed in {closed_s:.1f} s; "
            f"server VmRSS after the broadcasts {rss_end / 1024:.1f} MiB"
        )
        print(
            f"load avg  {_load()} (1/5/15 min) at the end; "
            f"above {os.cpu_count()} means CPU contention skews these numbers"
        )
        _tables(n, setup_s, opened, rounds)
    errors = sum(opened.errors.values())
    return 1 if errors or any(r.delivered != n for r in rounds) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=10_000, help="authenticated sockets to open (default 10000)")
    parser.add_argument("--per-user", type=int, default=100, help="sockets (each its own login) per registered user")
    parser.add_argument("--clients", type=int, default=2, help="client processes driving the sockets")
    parser.add_argument("--open-concurrency", type=int, default=200, help="opens in flight at once, over all clients")
    parser.add_argument("--setup-concurrency", type=int, default=16, help="registrations/logins in flight at once")
    parser.add_argument("--broadcasts", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between broadcasts")
    parser.add_argument("--auth", choices=("query", "message"), default="query", help="?token= or a first auth message")
    parser.add_argument("--gc-log", action="store_true", help="log the server's full GC pauses (diagnosis)")
    parser.add_argument("--access-ttl", type=int, default=3600, help="PORTSIDE_ACCESS_TOKEN_TTL for the run")
    args = parser.parse_args()
    if args.sockets < 1 or args.clients < 1 or args.per_user < 1:
        parser.error("--sockets, --clients and --per-user must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
