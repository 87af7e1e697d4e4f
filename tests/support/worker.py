"""Real background parts for end-to-end tests: a private ``redis-server`` that a test may
stop and start, an SMTP server that counts what it receives, and ``portside worker``
processes that a test may kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.server import free_port, restartable_port
from tests.support.settings import TEST_SECRET


class RedisServer:
    """``redis-server`` on a free port of its own, without persistence: stopping it loses
    everything queued in it, as a crashed Redis without AOF would."""

    def __init__(self, directory: Path) -> None:
        self.port = restartable_port()
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self._directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "redis-server did not start: is it installed (apt install redis-server)?"
                    ) from error
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


@contextmanager
def private_redis(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class SmtpSink:
    """Accepts every message. ``deliveries`` counts each DATA it received (a resend after a
    crash counts again); ``mailbox`` keeps one message per ``Message-ID``, as a mail store
    that deduplicates by it does. ``hold`` makes it keep the client waiting for the final
    ``250`` of the next message until released: the window between the effect and its
    acknowledgement."""

    deliveries: list[tuple[str, str]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    hold: bool = False
    hold_before: bool = False
    """Keep the client waiting at its first recipient instead: before any message exists."""
    hold_every: bool = False
    """Keep every client waiting at its first recipient until released (several jobs in
    flight at once); ``held`` counts them."""
    held: int = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.hold_every and not self.release.is_set():
            self.held += 1
            self.received.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        if self.hold_before:
            self.hold_before = False
            self.received.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"")
        self.deliveries.append((str(message["Message-ID"]), str(message["To"])))
        self.received.set()
        if self.hold:
            self.hold = False
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return "250 Message accepted for delivery"

    @property
    def mailbox(self) -> dict[str, str]:
        return dict(self.deliveries)

    def repeats(self) -> Counter[str]:
        return Counter(message_id for message_id, _ in self.deliveries)


@contextmanager
def smtp_sink() -> Iterator[tuple[SmtpSink, str]]:
    """The sink and the ``PORTSIDE_SMTP_URL`` that reaches it."""
    sink, port = SmtpSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        sink.release.set()
        controller.stop()


def worker_environment(database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_")},
        "PORTSIDE_DATABASE_URL": database_url,
        "PORTSIDE_REDIS_URL": redis_url,
        "PORTSIDE_JWT_SECRET": TEST_SECRET,
        "PORTSIDE_VAR_DIR": str(var_dir),
        "PORTSIDE_LOG_LEVEL": "info",
        "PORTSIDE_LOG_FORMAT": "json",
        **extra,
    }


class WorkerProcess:
    """``portside worker`` in a process of its own, its output in ``log``."""

    def __init__(self, environment: Mapping[str, str], log: Path) -> None:
        self.log = log
        command = [sys.executable, "-c", "import sys; from entrypoints.cli import main; sys.exit(main(['worker']))"]
        with log.open("ab") as output:
            self.process = subprocess.Popen(command, env=dict(environment), stdout=output, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """``kill -9``: no cleanup of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the worker ignored SIGTERM for {timeout} s:\n{self.output()}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def portside_workers(environment: Mapping[str, str], var_dir: Path, count: int = 1) -> Iterator[list[WorkerProcess]]:
    workers = [WorkerProcess(environment, var_dir / f"worker-{n}.log") for n in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.terminate()
