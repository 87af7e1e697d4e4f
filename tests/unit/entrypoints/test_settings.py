"""Configuration: defaults, parsing, and one clear error per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import SettingsError, load_settings


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
        {"PORTSIDE_VAR_DIR": str(tmp_path), "PORTSIDE_ENV": "production", "PORTSIDE_JWT_SECRET": "k" * 40},
        env_file=tmp_path / "x",
    )
    assert s.is_production and s.log_format == "json"
