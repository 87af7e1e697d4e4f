"""A private PostgreSQL cluster that a test may stop, start and restart: fault tests use one
so that they never touch the shared server every other test runs against.

The cluster lives in a temporary directory of its own, listens on a free port of loopback
only, and trades durability against an operating-system crash for speed (``fsync=off``):
a clean or fast shutdown still keeps every commit, which is all a restart test relies on.
``initdb`` refuses to run as root, so as root every server command runs as the
``postgres`` user of the system's PostgreSQL package.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # no stubs

from tests.support.server import restartable_port

__all__ = ["PostgresCluster", "private_postgres"]

_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=16MB "
    "-c max_connections=60 -c max_wal_senders=0 -c wal_level=minimal"
)


def _bin_dir() -> Path:
    """The newest installed server binaries (``initdb`` on the PATH wins, as on most
    distributions other than Debian's)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries (initdb): apt install postgresql")
    return Path(candidates[-1]).parent


class PostgresCluster:
    """``initdb`` into ``directory``; ``start``, ``stop`` and ``restart`` as an operator would
    with ``pg_ctl``. Trust authentication for the ``postgres`` role, on loopback only."""

    def __init__(self, directory: Path) -> None:
        self.port = restartable_port()
        self.directory = directory
        self.data = directory / "data"
        self._bin = _bin_dir()
        self._as_postgres = os.geteuid() == 0
        self.log = directory / "server.log"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} {_SERVER_OPTIONS}"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session (their clients see the connection close) after a
        checkpoint; ``immediate`` is a crash without one."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def restart(self) -> None:
        options = f"-p {self.port} -k {self.directory} {_SERVER_OPTIONS}"
        data, log = str(self.data), str(self.log)
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-m", "fast", "-w", "-t", "30", "restart")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        connection = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self._bin / program), *arguments]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log[-2000:]}")


@contextmanager
def private_postgres() -> Iterator[PostgresCluster]:
    """A started cluster of this test's own, stopped and deleted at the end whatever happened.

    Its directory is made under the system's temporary directory rather than pytest's,
    which only root may enter, and its socket path stays short enough for Unix sockets.
    """
    directory = Path(tempfile.mkdtemp(prefix="portside-pg-"))
    cluster = PostgresCluster(directory)
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            with suppress(RuntimeError):
                cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
