"""Configuration: defaults, parsing, and one clear error per bad value."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings, startup_warnings

POSTGRES = "postgresql://u:p@db:5432/app"


def production(tmp_path: Path, **variables: str) -> Settings:
    """Production settings that pass every check, with ``variables`` (without prefix) over them."""
    environ = {
        "PORTSIDE_VAR_DIR": str(tmp_path),
        "PORTSIDE_ENV": "production",
        "PORTSIDE_JWT_SECRET": "k" * 40,
        "PORTSIDE_DATABASE_URL": POSTGRES,
        "PORTSIDE_PUBLIC_URL": "https://app.example.com",
    }
    environ.update({f"PORTSIDE_{name}": value for name, value in variables.items()})
    return load_settings(environ, env_file=tmp_path / "none.env")


def refused(tmp_path: Path, **variables: str) -> SettingsError:
    with pytest.raises(SettingsError) as error:
        production(tmp_path, **variables)
    assert "\n" not in str(error.value)
    return error.value


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_defaults_are_the_embedded_profile(tmp_path: Path) -> None:
    s = load_settings({"PORTSIDE_VAR_DIR": str(tmp_path)}, env_file=tmp_path / "none.env")
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.redis_url is None and s.env == "development" and (s.host, s.port, s.workers) == ("127.0.0.1", 8000, 1)
    assert (s.lockout_threshold, s.lockout_window, s.lockout_duration, s.access_token_ttl) == (5, 900, 900, 900)


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings({"PORTSIDE_VAR_DIR": str(tmp_path)}, env_file=tmp_path / "none.env").jwt_secret
    again = load_settings({"PORTSIDE_VAR_DIR": str(tmp_path)}, env_file=tmp_path / "none.env").jwt_secret
    assert first == again and len(first.encode()) >= 32
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0


def test_postgres_urls_get_the_async_driver(tmp_path: Path) -> None:
    s = load_settings(
        {"PORTSIDE_VAR_DIR": str(tmp_path), "PORTSIDE_DATABASE_URL": "postgresql://u:p@db:5432/app"},
        env_file=tmp_path / "none.env",
    )
    assert s.database_url == "postgresql+asyncpg://u:p@db:5432/app"


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nPORTSIDE_PORT=9000\nexport PORTSIDE_HOST='0.0.0.0'\nPORTSIDE_WORKERS=3\n")
    s = load_settings({"PORTSIDE_VAR_DIR": str(tmp_path), "PORTSIDE_WORKERS": "2"}, env_file=env_file)
    assert (s.host, s.port, s.workers) == ("0.0.0.0", 9000, 2)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORTSIDE_PORT", "eighty"),
        ("PORTSIDE_PORT", "70000"),
        ("PORTSIDE_ENV", "staging"),
        ("PORTSIDE_DATABASE_URL", "not a url"),
        ("PORTSIDE_DATABASE_URL", "mysql://x/y"),
        ("PORTSIDE_REDIS_URL", "http://localhost"),
        ("PORTSIDE_JWT_SECRET", "short"),
        ("PORTSIDE_RATE_LIMITS", "maybe"),
        ("PORTSIDE_LOCKOUT_THRESHOLD", "0"),
    ],
)
def test_bad_value_names_its_variable(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"PORTSIDE_VAR_DIR": str(tmp_path), variable: value}, env_file=tmp_path / "none.env")
    assert error.value.variable == variable
    assert str(error.value).startswith(variable)


def test_production_refuses_to_start_without_a_real_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"PORTSIDE_VAR_DIR": str(tmp_path), "PORTSIDE_ENV": "production"}, env_file=tmp_path / "x")
    assert error.value.variable == "PORTSIDE_JWT_SECRET"
    s = load_settings(
        {
            "PORTSIDE_VAR_DIR": str(tmp_path),
            "PORTSIDE_ENV": "production",
            "PORTSIDE_JWT_SECRET": "k" * 40,
            "PORTSIDE_PUBLIC_URL": "https://app.example.com",
        },
        env_file=tmp_path / "x",
    )
    assert s.is_production and s.log_format == "json"


@pytest.mark.parametrize(
    ("memory_kib", "iterations"),
    [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5), (7168, 12), (65536, 3), (19456, 3)],
)
def test_production_accepts_argon2_at_least_as_strong_as_an_owasp_configuration(
    tmp_path: Path, memory_kib: int, iterations: int
) -> None:
    s = production(tmp_path, ARGON2_MEMORY_KIB=str(memory_kib), ARGON2_ITERATIONS=str(iterations))
    assert (s.argon2_memory_kib, s.argon2_iterations) == (memory_kib, iterations)


@pytest.mark.parametrize(
    ("memory_kib", "iterations"),
    [(47103, 1), (19455, 2), (19456, 1), (12287, 3), (9215, 4), (7167, 5), (7167, 50), (1024, 1)],
)
def test_production_refuses_argon2_below_the_owasp_minimums(tmp_path: Path, memory_kib: int, iterations: int) -> None:
    error = refused(tmp_path, ARGON2_MEMORY_KIB=str(memory_kib), ARGON2_ITERATIONS=str(iterations))
    assert error.variable == "PORTSIDE_ARGON2_MEMORY_KIB"
    assert "OWASP" in str(error)


def test_development_accepts_fast_argon2_for_tests(tmp_path: Path) -> None:
    s = load_settings(
        {"PORTSIDE_VAR_DIR": str(tmp_path), "PORTSIDE_ARGON2_MEMORY_KIB": "1024", "PORTSIDE_ARGON2_ITERATIONS": "1"},
        env_file=tmp_path / "none.env",
    )
    assert s.argon2_memory_kib == 1024


@pytest.mark.parametrize("origins", ["*", "https://app.example.com, *"])
def test_production_refuses_a_wildcard_cors_origin(tmp_path: Path, origins: str) -> None:
    assert refused(tmp_path, CORS_ORIGINS=origins).variable == "PORTSIDE_CORS_ORIGINS"


def test_production_accepts_listed_cors_origins(tmp_path: Path) -> None:
    s = production(tmp_path, CORS_ORIGINS="https://app.example.com, https://admin.example.com")
    assert s.cors_origins == ("https://app.example.com", "https://admin.example.com")


def test_production_with_safe_settings_starts_without_warnings(tmp_path: Path) -> None:
    """The production profile: PostgreSQL and Redis (without it, realtime is per process)."""
    assert startup_warnings(production(tmp_path, REDIS_URL="redis://r:6379/0")) == []


def test_start_up_warns_in_one_line_each_when_rate_limits_are_off_and_production_uses_sqlite(tmp_path: Path) -> None:
    warnings = startup_warnings(production(tmp_path, RATE_LIMITS="off", DATABASE_URL="sqlite:///./var/app.db"))
    assert len(warnings) == 2
    assert "PORTSIDE_RATE_LIMITS" in warnings[0] and "PORTSIDE_DATABASE_URL" in warnings[1]
    assert all("\n" not in line for line in warnings)


def test_development_on_sqlite_starts_without_warnings(tmp_path: Path) -> None:
    assert startup_warnings(load_settings({"PORTSIDE_VAR_DIR": str(tmp_path)}, env_file=tmp_path / "x")) == []


def test_development_secret_file_is_created_private_without_a_later_chmod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    load_settings({"PORTSIDE_VAR_DIR": str(tmp_path)}, env_file=tmp_path / "none.env")
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_development_secret_file_created_concurrently_gives_everyone_the_same_secret(tmp_path: Path) -> None:
    for round_ in range(20):
        var_dir = tmp_path / str(round_)
        start = threading.Barrier(8)

        def load(_: int, var_dir: Path = var_dir, start: threading.Barrier = start) -> str:
            start.wait()
            return load_settings({"PORTSIDE_VAR_DIR": str(var_dir)}, env_file=tmp_path / "none.env").jwt_secret

        with ThreadPoolExecutor(8) as pool:
            secrets = set(pool.map(load, range(8)))
        assert secrets == {(var_dir / "jwt-secret").read_text().strip()}
        assert [p.name for p in var_dir.iterdir()] == ["jwt-secret"]


@pytest.mark.parametrize("content", ["", "\n", "too-short-a-secret"])
def test_development_refuses_an_empty_or_short_secret_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "jwt-secret").write_text(content)
    with pytest.raises(SettingsError) as error:
        load_settings({"PORTSIDE_VAR_DIR": str(tmp_path)}, env_file=tmp_path / "none.env")
    assert error.value.variable == str(tmp_path / "jwt-secret")
    assert "delete" in str(error.value) and "PORTSIDE_JWT_SECRET" in str(error.value)


@pytest.mark.parametrize("url", ["mail.example", "http://mail.example", "smtp://", "smtps:/mail.example"])
def test_an_smtp_url_that_names_no_server_or_transport_is_refused(tmp_path: Path, url: str) -> None:
    assert "PORTSIDE_SMTP_URL" in str(refused(tmp_path, SMTP_URL=url))


def test_smtp_is_optional_and_kept_out_of_the_settings_repr(tmp_path: Path) -> None:
    assert production(tmp_path).smtp_url is None
    configured = production(tmp_path, SMTP_URL="smtps://ann:secret@mail.example", MAIL_FROM="app <app@example.com>")
    assert (configured.smtp_url, configured.email_from) == ("smtps://ann:secret@mail.example", "app <app@example.com>")
    assert "secret" not in repr(configured)


# -- Telegram send pacing without Redis -----------------------------------------------------


def _pacing_warnings(settings: Settings) -> list[str]:
    return [line for line in startup_warnings(settings) if "pacing" in line]


@pytest.mark.parametrize(
    ("variables", "mentions"),
    [
        ({"WORKERS": "4", "DATABASE_URL": "sqlite:///./var/app.db"}, "PORTSIDE_WORKERS=4"),
        ({"WORKERS": "1"}, "PostgreSQL"),
        ({"WORKERS": "3"}, "PORTSIDE_WORKERS=3"),
    ],
)
def test_a_bot_without_redis_that_may_send_from_several_processes_is_warned_about(
    tmp_path: Path, variables: dict[str, str], mentions: str
) -> None:
    warnings = _pacing_warnings(production(tmp_path, TELEGRAM_BOT_TOKEN="1:t", **variables))
    assert len(warnings) == 1 and "\n" not in warnings[0]
    line = warnings[0]
    assert line.startswith("PORTSIDE_REDIS_URL") and mentions in line
    assert "30 messages a second" in line and "one a second per chat" in line and "1:t" not in line


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"WORKERS": "4"}, id="no-bot-token"),
        pytest.param({"TELEGRAM_BOT_TOKEN": "1:t", "WORKERS": "4", "REDIS_URL": "redis://r:6379/0"}, id="redis"),
        pytest.param({"TELEGRAM_BOT_TOKEN": "1:t", "DATABASE_URL": "sqlite:///./var/app.db"}, id="sqlite-one-worker"),
        pytest.param({"TELEGRAM_BOT_TOKEN": "1:t", "DATABASE_URL": "memory://", "WORKERS": "4"}, id="memory"),
    ],
)
def test_no_pacing_warning_when_one_process_sends_or_nothing_is_paced(
    tmp_path: Path, variables: dict[str, str]
) -> None:
    assert _pacing_warnings(production(tmp_path, **variables)) == []


@pytest.mark.parametrize(
    ("variables", "warned"),
    [
        ({"WORKERS": "2"}, True),
        ({"WORKERS": "2", "REDIS_URL": "redis://r:6379/0"}, False),
        ({"WORKERS": "1"}, True),  # other replicas may share PostgreSQL
        ({"WORKERS": "1", "DATABASE_URL": "sqlite+aiosqlite:///var/p.db"}, False),
        ({"WORKERS": "2", "DATABASE_URL": "sqlite+aiosqlite:///var/p.db"}, True),
        ({"WORKERS": "2", "DATABASE_URL": "memory://"}, False),  # serve runs one process there
    ],
)
def test_several_processes_without_redis_are_warned_that_realtime_stays_per_process(
    tmp_path: Path, variables: dict[str, str], warned: bool
) -> None:
    lines = [line for line in startup_warnings(production(tmp_path, **variables)) if "WebSockets" in line]
    assert len(lines) == (1 if warned else 0)


def test_max_body_bytes_defaults_to_one_mebibyte_and_refuses_a_tiny_or_bad_value(tmp_path: Path) -> None:
    assert production(tmp_path).max_body_bytes == 1_048_576
    assert production(tmp_path, MAX_BODY_BYTES="4096").max_body_bytes == 4096
    for bad in ("10", "lots"):
        assert refused(tmp_path, MAX_BODY_BYTES=bad).variable == "PORTSIDE_MAX_BODY_BYTES"


def test_trusted_proxies_are_addresses_or_networks_and_nobody_by_default(tmp_path: Path) -> None:
    assert production(tmp_path).trusted_proxies == ()
    assert production(tmp_path, TRUSTED_PROXIES=" 10.0.0.0/8, ::1 ,192.168.1.7").trusted_proxies == (
        "10.0.0.0/8",
        "::1",
        "192.168.1.7",
    )
    for bad in ("*", "proxy.internal", "10.0.0.0/99"):
        assert refused(tmp_path, TRUSTED_PROXIES=bad).variable == "PORTSIDE_TRUSTED_PROXIES"


def test_api_rate_limit_reads_requests_per_period_and_refuses_anything_else(tmp_path: Path) -> None:
    assert production(tmp_path).api_rate_limit == (600, 60)
    assert production(tmp_path, API_RATE_LIMIT="20/Second").api_rate_limit == (20, 1)
    assert production(tmp_path, API_RATE_LIMIT="5000/hour").api_rate_limit == (5000, 3600)
    for bad in ("600", "0/minute", "-1/minute", "600/fortnight", "ten/minute", "600/minute/2", "²/minute"):
        assert refused(tmp_path, API_RATE_LIMIT=bad).variable == "PORTSIDE_API_RATE_LIMIT"


def test_metrics_are_on_and_tracing_off_unless_configured(tmp_path: Path) -> None:
    settings = production(tmp_path)
    assert settings.metrics and settings.otel_endpoint is None
    assert not production(tmp_path, METRICS="off").metrics
    assert production(tmp_path, OTEL_ENDPOINT="http://collector:4318").otel_endpoint == "http://collector:4318"
    assert refused(tmp_path, OTEL_ENDPOINT="collector:4318").variable == "PORTSIDE_OTEL_ENDPOINT"
