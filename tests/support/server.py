"""``portside serve`` as a real process (several uvicorn workers), for end-to-end tests."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.settings import TEST_SECRET


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def restartable_port() -> int:
    """A free port below Linux's ephemeral range (32768 and up), for a server the test stops
    and starts again on the same port: a port from the ephemeral range can be taken, while
    the server is down, as the source port of any outgoing connection the suite makes."""
    for _ in range(100):
        port = random.randint(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


@contextmanager
def portside_serve(database_url: str, var_dir: Path, **environment: str) -> Iterator[str]:
    """Run ``portside serve`` on a free port until the block ends; yields its base URL
    (see ``serve_process``)."""
    with serve_process(database_url, var_dir, **environment) as process:
        yield process.base


@dataclass(frozen=True)
class Served:
    base: str
    pid: int
    """The process serving (with one worker, the one ``portside serve`` started)."""

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS for process {self.pid}")


@contextmanager
def serve_process(database_url: str, var_dir: Path, **environment: str) -> Iterator[Served]:
    """Run ``portside serve`` on a free port until the block ends.

    The database must be migrated already. Hashing is cheap and the access log off, so the
    server's own speed never decides a test; ``environment`` adds or overrides variables.
    """
    port = free_port()
    env: Mapping[str, str] = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_")},
        "PORTSIDE_DATABASE_URL": database_url,
        "PORTSIDE_JWT_SECRET": TEST_SECRET,
        "PORTSIDE_VAR_DIR": str(var_dir),
        "PORTSIDE_HOST": "127.0.0.1",
        "PORTSIDE_PORT": str(port),
        "PORTSIDE_ARGON2_MEMORY_KIB": "1024",
        "PORTSIDE_ARGON2_ITERATIONS": "1",
        "PORTSIDE_ACCESS_LOG": "off",
        "PORTSIDE_LOG_LEVEL": "warning",
        **environment,
    }
    command = [sys.executable, "-c", "import sys; from entrypoints.cli import main; sys.exit(main(['serve']))"]
    log = var_dir / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(base, process, log)
        yield Served(base, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    """Until ``/health`` answers 200; ``RuntimeError`` with the log if the server exits or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"portside serve exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"portside serve did not answer {base}/health within {timeout} s")


def portside_command(
    database_url: str, var_dir: Path, *arguments: str, timeout: float = 60, **environment: str
) -> subprocess.CompletedProcess[str]:
    """Run one ``portside`` command (``create-admin ...``, ``worker --check``) as an operator
    would, in a process of its own; its exit code and output. ``environment`` adds variables."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_")},
        "PORTSIDE_DATABASE_URL": database_url,
        "PORTSIDE_JWT_SECRET": TEST_SECRET,
        "PORTSIDE_VAR_DIR": str(var_dir),
        "PORTSIDE_LOG_LEVEL": "warning",
        **environment,
    }
    command = [sys.executable, "-c", "import sys; from entrypoints.cli import main; sys.exit(main(sys.argv[1:]))"]
    return subprocess.run([*command, *arguments], env=env, capture_output=True, text=True, timeout=timeout, check=False)
