"""`make bench-ab BEFORE=<rev>`: one process of an older revision against one of the working
tree, served side by side and driven alternately, so the shared VM's swings (often ±30 %
between runs minutes apart) hit both sides alike.

The older revision is exported with `git archive` to a temporary directory and imported from
there (`PYTHONPATH`), with this checkout's virtualenv; both serve the same PostgreSQL
database (recreated, migrated by the working tree, which must not have changed the schema
since the revision) with Redis configured and rate limits off, in the production profile,
one uvicorn worker each. Each row runs `rounds` times per side with wrk at 64 connections,
the order of the sides alternating; medians of req/s, server CPU per request and p99 are
printed, and the after / before ratio of req/s. Reported, never asserted.

    .venv/bin/python -m bench.ab BEFORE_REV [--rounds 4] [--seconds 4] [--only SUBSTRING] [--env KEY=VALUE]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench import run
from bench.harness import production_settings

ROOT = Path(__file__).resolve().parents[1]
PORTS = {"before": 8811, "after": 8812}
ROWS = (
    ("GET /health", "/health", "get"),
    ("GET /auth/me", "/api/v1/auth/me", "get"),
    ("GET /todos/{id}", "/api/v1/todos/", "get_many"),
    ("GET /todos?size=20", "/api/v1/todos?size=20", "get"),
    ("POST /todos", "/api/v1/todos", "post_todo"),
    ("PATCH /todos/{id}", "/api/v1/todos/", "patch_todo"),
)


def _export(revision: str, into: Path) -> None:
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


EXTRA: dict[str, str] = {}
"""Settings given with ``--env`` for both sides."""


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        **production_settings(run.DATABASE, run.REDIS_URL),
        "PORTSIDE_WORKERS": "1",
        "PORTSIDE_HOST": "127.0.0.1",
        **EXTRA,
    }


def _serve(tree: Path, side: str, scratch: Path) -> subprocess.Popen[bytes]:
    env = {
        **_environment(),
        "PYTHONPATH": str(tree),
        "PORTSIDE_PORT": str(PORTS[side]),
        "PORTSIDE_VAR_DIR": str(scratch / f"var-{side}"),
    }
    log = (scratch / f"{side}.log").open("wb")
    main = "import sys; from entrypoints.cli import main; sys.exit(main())"
    # cwd outside both trees: each side imports only from its PYTHONPATH
    return subprocess.Popen(
        [sys.executable, "-c", main, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=scratch
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", help="the git revision to compare the working tree against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--only", default="", help="run only the rows whose name contains this")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE: a setting for both sides")
    args = parser.parse_args()
    EXTRA.update(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="portside-ab-") as directory:
        scratch = Path(directory)
        _export(args.before, scratch / "before")
        asyncio.run(run._prepare_database())
        subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "migrate"],
            env={**_environment(), "PYTHONPATH": str(ROOT)},
            cwd=scratch,
            check=True,
            capture_output=True,
        )
        servers = {"before": _serve(scratch / "before", "before", scratch), "after": _serve(ROOT, "after", scratch)}
        try:
            for side, server in servers.items():
                run._wait_until_up(f"http://127.0.0.1:{PORTS[side]}/health", server)
            run.PORTSIDE_PORT = PORTS["after"]  # the seeding goes through the working tree
            token, ids, _ = asyncio.run(run._seed())
            env = {**os.environ, "BENCH_TOKEN": token, "BENCH_IDS": ",".join(ids[:200])}
            print(f"{args.before} (before) vs the working tree (after): one process each, 64 connections, ")
            print(f"{args.rounds} rounds of {args.seconds} s per side and row, sides alternating; medians")
            for name, path, script in ROWS:
                if args.only in name:
                    _compare(name, path, script, env, servers, args.rounds, args.seconds)
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(timeout=15)
    return 0


def _compare(
    name: str,
    path: str,
    script: str,
    env: dict[str, str],
    servers: dict[str, subprocess.Popen[bytes]],
    rounds: int,
    seconds: int,
) -> None:
    figures: dict[str, list[run.Result]] = {"before": [], "after": []}
    for turn in range(rounds):
        for side in ("before", "after") if turn % 2 == 0 else ("after", "before"):
            url = f"http://127.0.0.1:{PORTS[side]}{path}"
            data = run._wrk(url, 64, seconds, script, env, warmup=turn == 0, server=servers[side].pid)
            figures[side].append(run._result(name, side, 64, data))

    def median(side: str, field: str) -> float:
        return statistics.median(getattr(result, field) for result in figures[side])

    errors = {side: sum(r.non2xx + r.socket_errors for r in results) for side, results in figures.items()}
    cells = [
        f"{median(side, 'rps'):8.1f} req/s {median(side, 'cpu_us'):6.0f} µs p99 {median(side, 'p99_ms'):7.1f} ms"
        for side in ("before", "after")
    ]
    ratio = median("after", "rps") / median("before", "rps")
    print(f"{name:20} {cells[0]} | {cells[1]} | x{ratio:.2f}  errors {errors['before']}/{errors['after']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
