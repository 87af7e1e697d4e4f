"""What an operator does around a fault test: the admin account, the jobs it can see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.faults.traffic import API, PASSWORD
from tests.support.server import portside_command

__all__ = [
    "ADMIN_EMAIL",
    "admin_jobs",
    "alive",
    "create_admin",
    "creating_admin",
    "directories",
    "eventually",
    "readiness",
]

ADMIN_EMAIL = "root@example.com"


def directories(tmp_path: Path, *names: str) -> list[Path]:
    made = [tmp_path / name for name in names]
    for directory in made:
        directory.mkdir()
    return made


def create_admin(database_url: str, var_dir: Path) -> None:
    """``portside create-admin``, as the operator does once."""
    done = portside_command(database_url, var_dir, "create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
    assert done.returncode == 0, done.stdout + done.stderr


async def admin_jobs(client: httpx.AsyncClient, admin: dict[str, str]) -> list[dict[str, object]]:
    """Every job ``GET /api/v1/jobs`` lists, as the admin sees them."""
    jobs: list[dict[str, object]] = []
    page = 1
    while True:
        response = await client.get(f"{API}/jobs", params={"page": page, "size": 100}, headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        jobs.extend(body["items"])
        if page >= body["pages"]:
            return jobs
        page += 1


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Poll ``check`` until true; the seconds it took. ``AssertionError`` after ``seconds``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what}: not within {seconds} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def readiness(client: httpx.AsyncClient, **checks: str) -> Callable[[], Awaitable[bool]]:
    """A check for ``eventually``: ``/health/ready`` answers 200, with ``checks`` as given."""

    async def ready() -> bool:
        response = await client.get("/health/ready")
        body = response.json()
        return response.status_code == 200 and all(body["checks"][name] == value for name, value in checks.items())

    return ready


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def creating_admin(database_url: str, var_dir: Path) -> asyncio.Future[None]:
    """``create_admin`` started in a thread at once (not at the next await), so that it runs
    while the caller starts ``serve``; await the future before using the account."""
    return asyncio.get_running_loop().run_in_executor(None, create_admin, database_url, var_dir)
