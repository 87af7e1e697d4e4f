"""The `portside` console script."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from entrypoints.cli import main


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() configures process-wide logging; put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTSIDE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTSIDE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("PORTSIDE_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("PORTSIDE_ARGON2_ITERATIONS", "1")
    monkeypatch.setenv("PORTSIDE_ACCESS_LOG", "off")
    monkeypatch.setenv("PORTSIDE_LOG_LEVEL", "warning")
    return tmp_path


def test_migrate_then_create_admin_is_idempotent(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    args = ["create-admin", "--email", " Root@Example.com ", "--password", "a-sturdy-admin-pass"]
    assert main(args) == 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "admin created: root@example.com" in out
    assert "admin updated: root@example.com" in out


def test_create_admin_refuses_a_weak_password(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["create-admin", "--email", "root@example.com", "--password", "password"]) == 1
    assert "password" in capsys.readouterr().err


def test_openapi_prints_the_document(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/auth/login" in document["paths"]


def test_bad_configuration_stops_with_one_line(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTSIDE_PORT", "eighty")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["portside: configuration error: PORTSIDE_PORT: expected a whole number, got 'eighty'"]
