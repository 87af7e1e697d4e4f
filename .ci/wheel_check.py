"""`make wheel-check`: portside as a new user gets it, from a wheel, with no checkout in sight.

1. build the wheel from a copy of this working tree (uncommitted files included);
2. install it, with the locked dependency versions, into a fresh venv in a temp folder;
3. run the README's embedding example from another folder with that venv's Python;
4. `portside migrate`, then `portside serve` on a free port against a temp SQLite database:
   `/health` answers 200 and a registration is stored (the shipped migrations made the
   tables), then the server is stopped;
5. install the `testing` extra and run the README's testing example (the shipped state
   machines against an embedder's own wiring).

Any failing step exits 1 with its name and output. Run it with the project venv's Python.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "results"
)


class CheckFailedError(Exception):
    """A step failed; the message says which and shows what it printed."""


def _run(step: str, command: list[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)  # noqa: S603
    if result.returncode != 0:
        raise CheckFailedError(
            f"{step}: `{' '.join(command)}` exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


@contextmanager
def _step(name: str) -> Iterator[None]:
    started = time.monotonic()
    print(f"wheel-check: {name} ...", flush=True)
    yield
    print(f"wheel-check: {name}: ok ({time.monotonic() - started:.1f} s)", flush=True)


def _clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without portside settings or a path into the checkout."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PORTSIDE_", "PYTHON", "VIRTUAL_ENV"))}
    return {**keep, **extra}


def _build_wheel(work: Path) -> Path:
    source = work / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_NOT_COPIED)
    dist = work / "dist"
    _run("build", [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], cwd=work)
    wheels = list(dist.glob("portside-*.whl"))
    if len(wheels) != 1:
        raise CheckFailedError(f"build: expected one portside wheel in {dist}, found {wheels}")
    return wheels[0]


def _install(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    _run("install", [sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    # This venv's pip installs into the new one (pip --python): no pip bootstrap, shared cache.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile"]
    _run("install", [*pip, "-c", str(ROOT / "requirements.lock"), str(wheel)], cwd=work)
    located = _run(
        "install",
        [str(python), "-c", "import entrypoints; print(entrypoints.__file__)"],
        cwd=work,
        env=_clean_environment(),
    )
    if not located.strip().startswith(str(venv)):
        raise CheckFailedError(f"install: portside imported from {located.strip()}, not from {venv}")
    return venv


def _readme_example(work: Path, venv: Path, marker: str) -> str:
    """Run the README's Python block after ``<!-- marker -->`` from a folder outside the
    checkout; its output."""
    match = re.search(rf"<!-- {marker} -->\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    if match is None:
        raise CheckFailedError(f"example: no example after <!-- {marker} --> in README.md")
    elsewhere = work / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    script = elsewhere / f"{marker}.py"
    script.write_text(match.group(1))
    return _run("example", [str(venv / "bin" / "python"), str(script)], cwd=elsewhere, env=_clean_environment())


def _embedding_example(work: Path, venv: Path) -> None:
    output = _readme_example(work, venv, "embed-example")
    if output.split()[-3:] != ["ada@example.com", "True", "user"]:
        raise CheckFailedError(f"example: unexpected output:\n{output}")


def _testing_example(work: Path, venv: Path, wheel: Path) -> None:
    """``portside[testing]`` brings hypothesis, and the shipped machines run on the embedder's wiring."""
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile"]
    _run("install", [*pip, "-c", str(ROOT / "requirements.lock"), f"{wheel}[testing]"], cwd=work)
    output = _readme_example(work, venv, "testing-example")
    if output.splitlines()[-1:] != ["model checks passed; True"]:
        raise CheckFailedError(f"example: unexpected output:\n{output}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request(port: int, path: str, body: dict[str, str] | None = None) -> int:
    """The status of one request to the server on loopback ``port``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        if body is None:
            connection.request("GET", path)
        else:
            connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()


def _wait_for_health(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailedError(f"serve: exited with {server.returncode}\n{log.read_text(errors='replace')}")
        try:
            status = _request(port, "/health")
        except OSError:
            time.sleep(0.1)
            continue
        if status != 200:
            raise CheckFailedError(f"serve: /health answered {status}\n{log.read_text(errors='replace')}")
        return
    raise CheckFailedError(f"serve: /health did not answer within {timeout:.0f} s\n{log.read_text(errors='replace')}")


def _migrate_and_serve(work: Path, venv: Path) -> None:
    var = work / "var"
    var.mkdir()
    port = _free_port()
    env = _clean_environment(
        PORTSIDE_VAR_DIR=str(var),
        PORTSIDE_DATABASE_URL=f"sqlite+aiosqlite:///{var / 'portside.db'}",
        PORTSIDE_HOST="127.0.0.1",
        PORTSIDE_PORT=str(port),
        PORTSIDE_LOG_LEVEL="warning",
    )
    portside = str(venv / "bin" / "portside")
    _run("migrate", [portside, "migrate"], cwd=var, env=env)
    log = var / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen([portside, "serve"], cwd=var, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        _wait_for_health(port, server, log)
        account = {"email": "wheel@example.com", "password": "a-sturdy-passphrase-42"}
        status = _request(port, "/api/v1/auth/register", account)
        if status != 201:
            raise CheckFailedError(f"serve: registration answered {status}\n{log.read_text(errors='replace')}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="portside-wheel-check-"))
    try:
        with _step("build the wheel"):
            wheel = _build_wheel(work)
        with _step(f"install {wheel.name} into a fresh venv"):
            venv = _install(work, wheel)
        with _step("run the README embedding example from another folder"):
            _embedding_example(work, venv)
        with _step("portside migrate, portside serve, GET /health"):
            _migrate_and_serve(work, venv)
        with _step("install portside[testing], run the README testing example"):
            _testing_example(work, venv, wheel)
    except (CheckFailedError, subprocess.TimeoutExpired) as error:
        print(f"wheel-check: FAILED in {work}\n{error}", file=sys.stderr)
        return 1
    shutil.rmtree(work)
    print(f"wheel-check: passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
