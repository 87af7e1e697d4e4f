"""Helpers for end-to-end tests of campaign sending: campaigns made through the use-cases,
their rows read straight from PostgreSQL (the raw ``sending`` status included), ``portside
worker`` processes that are killed with their whole process group, and the fake Bot API in
a process of its own (its clock undisturbed by the test's event loop)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from application.broadcast.create_campaign import CreateCampaign, CreateCampaignCommand
from application.broadcast.start_campaign import StartCampaign
from application.identity.create_admin import CreateAdminCommand
from application.shared.actor import Actor
from domain.broadcast.campaign import CampaignId
from domain.identity.ids import SessionId
from domain.identity.user import Role
from entrypoints.testing.harness import Harness
from tests.support.fake_telegram import Behaviour, Call
from tests.support.worker import WorkerProcess

__all__ = [
    "CampaignDb",
    "DeliveryRow",
    "FakeTelegramProcess",
    "GroupWorker",
    "admin_actor",
    "create_campaign",
    "fake_telegram_process",
    "group_workers",
    "start_campaign",
]

_ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ campaigns


async def admin_actor(app: Harness, email: str = "campaigns-admin@example.com") -> Actor:
    """An admin account in the database (campaigns reference their creator) and an actor of it."""
    result = await app.create_admin(CreateAdminCommand(email=email, password="a-sturdy-passphrase-42"))
    return Actor(user_id=result.user.id, session_id=SessionId(uuid4()), role=Role.ADMIN)


async def create_campaign(app: Harness, actor: Actor, recipients: Sequence[int], *, name: str, text: str) -> CampaignId:
    async with app.use(CreateCampaign) as create:
        view = await create(CreateCampaignCommand(actor=actor, name=name, text=text, recipients=list(recipients)))
    return view.campaign.id


async def start_campaign(app: Harness, actor: Actor, campaign_id: CampaignId) -> None:
    async with app.use(StartCampaign) as start:
        await start(actor, campaign_id)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    chat_id: int
    status: str
    attempts: int
    error: str | None
    sent_at: datetime | None


class CampaignDb:
    """Campaign and delivery rows as stored (``sending`` is visible here, unlike through the
    use-cases), over one asyncpg connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    @classmethod
    async def connect(cls, sqlalchemy_url: str) -> CampaignDb:
        dsn = sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        return cls(await asyncpg.connect(dsn))

    async def close(self) -> None:
        await self._connection.close()

    async def campaign_status(self, campaign_id: UUID) -> str:
        status: str = await self._connection.fetchval("SELECT status FROM campaigns WHERE id = $1", campaign_id)
        return status

    async def lease_seconds_left(self, campaign_id: UUID) -> float | None:
        """Seconds until the campaign's sender lease lapses, on the database's clock."""
        left = await self._connection.fetchval(
            "SELECT EXTRACT(EPOCH FROM sender_until - now()) FROM campaigns WHERE id = $1", campaign_id
        )
        return None if left is None else float(left)

    async def deliveries(self, campaign_id: UUID) -> dict[int, DeliveryRow]:
        rows = await self._connection.fetch(
            "SELECT chat_id, status, attempts, error, sent_at FROM deliveries WHERE campaign_id = $1", campaign_id
        )
        return {row["chat_id"]: DeliveryRow(**dict(row)) for row in rows}

    async def chat_flags(self, chat_id: int) -> tuple[bool, bool] | None:
        """``(subscribed, blocked)`` of a chat the bot knows, None for one it does not."""
        row = await self._connection.fetchrow(
            "SELECT subscribed, blocked FROM telegram_chats WHERE chat_id = $1", chat_id
        )
        return None if row is None else (row["subscribed"], row["blocked"])

    async def counts(self, campaign_id: UUID) -> Counter[str]:
        """Deliveries by status, and failures by ``failed/<error>``."""
        rows = await self._connection.fetch(
            "SELECT status, error, count(*) AS n FROM deliveries WHERE campaign_id = $1 GROUP BY status, error",
            campaign_id,
        )
        counts: Counter[str] = Counter()
        for row in rows:
            counts[row["status"]] += row["n"]
            if row["error"] is not None:
                counts[f"{row['status']}/{row['error']}"] += row["n"]
        return counts


# ------------------------------------------------------------------ workers


class GroupWorker(WorkerProcess):
    """``portside worker`` as the leader of a process group of its own, so ``kill`` takes
    down whatever it may have spawned too (and never the test's own group)."""

    def __init__(self, environment: Mapping[str, str], log: Path) -> None:
        self.log = log
        command = [sys.executable, "-c", "import sys; from entrypoints.cli import main; sys.exit(main(['worker']))"]
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command, env=dict(environment), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """``kill -9`` of the whole process group: no cleanup of any kind."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def group_workers(
    environment: Mapping[str, str], var_dir: Path, count: int = 1, *, label: str = "worker"
) -> Iterator[list[GroupWorker]]:
    workers = [GroupWorker(environment, var_dir / f"{label}-{n}.log") for n in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.terminate()


# ------------------------------------------------------------------ the fake, out of process


class FakeTelegramProcess:
    """``python -m tests.support.fake_telegram`` in a process of its own, scripted and read over HTTP."""

    token = "123456:fake-token"

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self._client = httpx.Client(base_url=self.api_base, timeout=10)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, chat_id: int, behaviour: Behaviour) -> None:
        spec: dict[str, Any] = {"kind": behaviour.kind}
        if behaviour.times is not None:
            spec["times"] = behaviour.times
        if behaviour.kind == "retry_after":
            spec["seconds"] = behaviour.retry_after
        response = self._client.post("/_fake/script", json={"chat_id": chat_id, "behaviour": spec})
        response.raise_for_status()

    def calls(self) -> list[Call]:
        response = self._client.get("/_fake/calls")
        response.raise_for_status()
        return [Call(**call) for call in response.json()["result"]]

    def close(self) -> None:
        self._client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def fake_telegram_process(latency: float = 0.0) -> Iterator[FakeTelegramProcess]:
    command = [sys.executable, "-m", "tests.support.fake_telegram", "--port", "0", "--latency", str(latency)]
    process = subprocess.Popen(command, cwd=_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 20
    port = None
    while port is None:
        line = process.stdout.readline()
        if line.startswith("FAKE_TELEGRAM_PORT="):
            port = int(line.strip().partition("=")[2])
        elif not line and process.poll() is not None:
            raise RuntimeError(f"the fake Bot API exited with {process.returncode}")
        elif time.monotonic() > deadline:
            process.kill()
            process.wait()
            process.stdout.close()
            raise RuntimeError("the fake Bot API did not print its port")
    fake = FakeTelegramProcess(process, port)
    try:
        yield fake
    finally:
        fake.close()
