"""The `portside` console script."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import pytest
from dishka import Scope

from application.errors import UnauthenticatedError
from application.identity.authenticate_access_token import AuthenticateAccessToken
from application.identity.log_in import LogIn, LogInCommand
from application.identity.register_user import RegisterUser, RegisterUserCommand
from entrypoints.cli import main
from entrypoints.container import build_container
from entrypoints.settings import load_settings

ADMIN = "root@example.com"
PASSWORD = "a-sturdy-admin-pass"
OTHER_PASSWORD = "another-sturdy-admin-pass"

pytestmark = pytest.mark.usefixtures("main_logging_restored")


class _Terminal(io.StringIO):
    """Standard input attached to a terminal."""

    def isatty(self) -> bool:
        return True


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


@pytest.fixture
def migrated(environment: Path) -> Path:
    assert main(["migrate"]) == 0
    return environment


def piped(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def create_admin(monkeypatch: pytest.MonkeyPatch, password: str, *flags: str) -> int:
    piped(monkeypatch, password + "\n")
    return main(["create-admin", "--email", ADMIN, "--password-stdin", *flags])


def test_migrate_then_create_admin_is_idempotent(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    args = ["create-admin", "--email", " Root@Example.com ", "--password", "a-sturdy-admin-pass"]
    assert main(args) == 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "admin created: root@example.com" in out
    assert "admin unchanged (already an active admin with this password): root@example.com" in out


def test_create_admin_refuses_a_weak_password(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["create-admin", "--email", "root@example.com", "--password", "password"]) == 1
    assert "password" in capsys.readouterr().err


def test_openapi_prints_the_document(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/auth/login" in document["paths"]


def test_openapi_keeps_log_lines_off_stdout(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line logged while the document is printed (say, an old task's exception found by
    the garbage collector) goes to stderr, so stdout stays one JSON document."""
    assert main(["openapi"]) == 0
    logging.getLogger("asyncio").error("Task exception was never retrieved")
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert "Task exception was never retrieved" in captured.err


def test_bad_configuration_stops_with_one_line(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTSIDE_PORT", "eighty")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["portside: configuration error: PORTSIDE_PORT: expected a whole number, got 'eighty'"]


def test_create_admin_reads_one_line_of_stdin_as_the_password(
    migrated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    piped(monkeypatch, PASSWORD + "\nthe rest is not read\n")
    assert main(["create-admin", "--email", ADMIN, "--password-stdin"]) == 0
    assert create_admin(monkeypatch, PASSWORD) == 0
    captured = capsys.readouterr()
    assert "admin unchanged" in captured.out
    assert captured.err == ""


def test_create_admin_refuses_an_empty_stdin(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    piped(monkeypatch, "")
    assert main(["create-admin", "--email", ADMIN, "--password-stdin"]) == 2


def test_create_admin_with_password_on_the_command_line_warns_in_one_line(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-admin", "--email", ADMIN, "--password", PASSWORD]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "--password-stdin" in err[0] and PASSWORD not in err[0]


def test_create_admin_asks_twice_on_a_terminal(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def typed(prompt: str = "") -> str:
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", typed)
    assert main(["create-admin", "--email", ADMIN]) == 0
    assert len(prompts) == 2
    assert create_admin(monkeypatch, PASSWORD) == 0


def test_create_admin_refuses_two_different_typed_passwords(
    migrated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, OTHER_PASSWORD])
    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["create-admin", "--email", ADMIN]) == 2
    assert "do not match" in capsys.readouterr().err
    assert create_admin(monkeypatch, PASSWORD) == 0
    assert "admin created" in capsys.readouterr().out


def test_create_admin_without_a_password_and_no_terminal_says_how(
    migrated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    piped(monkeypatch, PASSWORD + "\n")
    assert main(["create-admin", "--email", ADMIN]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "--password-stdin" in err[0]


def test_create_admin_takes_exactly_one_password_source(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    piped(monkeypatch, PASSWORD + "\n")
    with pytest.raises(SystemExit) as exit_:
        main(["create-admin", "--email", ADMIN, "--password-stdin", "--password", PASSWORD])
    assert exit_.value.code == 2


def test_create_admin_touches_an_existing_account_only_with_promote_existing(
    migrated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create_admin(monkeypatch, PASSWORD) == 0
    capsys.readouterr()
    assert create_admin(monkeypatch, OTHER_PASSWORD) == 1
    assert "--promote-existing" in capsys.readouterr().err
    assert create_admin(monkeypatch, OTHER_PASSWORD, "--promote-existing") == 0
    assert f"admin updated: {ADMIN}" in capsys.readouterr().out
    assert create_admin(monkeypatch, OTHER_PASSWORD) == 0


def test_create_admin_ends_the_sessions_of_a_promoted_account(
    migrated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = asyncio.run(_registrant_signed_in())
    assert create_admin(monkeypatch, PASSWORD, "--promote-existing") == 0
    assert "live sessions ended: 1" in capsys.readouterr().out
    assert not asyncio.run(_is_signed_in(token))


async def _registrant_signed_in() -> str:
    container = build_container(load_settings())
    try:
        async with container(scope=Scope.REQUEST) as request:
            await (await request.get(RegisterUser))(RegisterUserCommand(email=ADMIN, password=PASSWORD))
        async with container(scope=Scope.REQUEST) as request:
            pair = await (await request.get(LogIn))(LogInCommand(email=ADMIN, password=PASSWORD))
            return pair.access_token
    finally:
        await container.close()


async def _is_signed_in(access_token: str) -> bool:
    container = build_container(load_settings())
    try:
        async with container(scope=Scope.REQUEST) as request:
            await (await request.get(AuthenticateAccessToken))(access_token)
            return True
    except UnauthenticatedError:
        return False
    finally:
        await container.close()


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_start_up_warns_in_one_line_when_rate_limits_are_off(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: None)
    monkeypatch.setattr("entrypoints.worker.arq_worker.run", lambda *args, **kwargs: None)
    monkeypatch.setenv("PORTSIDE_REDIS_URL", "redis://127.0.0.1:6379/14")
    monkeypatch.setenv("PORTSIDE_RATE_LIMITS", "off")
    assert main([command]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "PORTSIDE_RATE_LIMITS" in warnings[0]


def test_worker_without_redis_says_the_server_runs_the_jobs(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker"]) == 2
    assert "PORTSIDE_REDIS_URL is not set" in capsys.readouterr().err


def test_worker_check_reports_the_heartbeat(
    environment: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import redis

    from entrypoints.worker.arq_worker import HEALTH_KEY

    private = redis_url.rsplit("/", 1)[0] + "/13"
    monkeypatch.setenv("PORTSIDE_REDIS_URL", private)
    client = redis.Redis.from_url(private)
    try:
        client.delete(HEALTH_KEY)
        assert main(["worker", "--check"]) == 1
        assert "no heartbeat" in capsys.readouterr().err
        client.set(HEALTH_KEY, "Nov-30 13:00:00 j_complete=0 j_failed=0 j_retried=0 j_ongoing=0 queued=0", ex=5)
        assert main(["worker", "--check"]) == 0
    finally:
        client.delete(HEALTH_KEY)
        client.close()


def test_serve_with_a_bot_and_several_workers_without_redis_warns_that_pacing_is_per_process(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: None)
    monkeypatch.setenv("PORTSIDE_TELEGRAM_BOT_TOKEN", "1:t")
    monkeypatch.setenv("PORTSIDE_WORKERS", "2")
    assert main(["serve"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line and "pacing" in line]
    assert len(warnings) == 1
    assert "PORTSIDE_REDIS_URL" in warnings[0] and "PORTSIDE_WORKERS=2" in warnings[0]
