"""``PORTSIDE_DATABASE_URL=memory://``: the whole app from the environment, nothing on disk
but the development JWT secret, and a CLI that knows there is nothing to migrate."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog

from entrypoints.cli import main
from entrypoints.http.app import create_app
from entrypoints.settings import load_settings
from tests.http.conftest import API, PASSWORD


@pytest.fixture
def memory_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)  # no .env file here
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", "memory://")
    monkeypatch.setenv("PORTSIDE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTSIDE_ACCESS_LOG", "off")
    root = logging.getLogger()  # main() configures process-wide logging: put it back after
    handlers, level = root.handlers[:], root.level
    yield tmp_path
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def files_under(folder: Path) -> list[str]:
    return [path.name for path in folder.rglob("*") if path.is_file()]


async def test_the_app_on_memory_registers_logs_in_and_keeps_a_todo(memory_environment: Path) -> None:
    app = create_app(load_settings())
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = {"email": "ada@example.com", "password": PASSWORD}
        assert (await client.post(f"{API}/auth/register", json=account)).status_code == 201
        login = await client.post(f"{API}/auth/login", json=account)
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

        created = await client.post(f"{API}/todos", json={"title": "Buy milk"}, headers=auth)
        assert created.status_code == 201, created.text
        fetched = await client.get(created.headers["Location"], headers=auth)
        assert fetched.status_code == 200, fetched.text
        assert (fetched.json()["id"], fetched.json()["title"]) == (created.json()["id"], "Buy milk")
        assert (await client.get("/health/ready")).json()["checks"]["database"] == "ok"
    assert files_under(memory_environment) == ["jwt-secret"]  # no database file anywhere


def test_migrate_on_memory_says_there_is_nothing_to_migrate(
    memory_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == "memory:// has no schema: nothing to migrate\n"
