"""``PORTSIDE_PUBLIC_URL`` in production: mailed links carry reset tokens, so they must go over
https to a host other than this machine; the default (``http://127.0.0.1:8000``) is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import SettingsError, load_settings


def production_public_url(tmp_path: Path, value: str | None) -> str:
    environ = {
        "PORTSIDE_VAR_DIR": str(tmp_path),
        "PORTSIDE_ENV": "production",
        "PORTSIDE_JWT_SECRET": "k" * 40,
        "PORTSIDE_DATABASE_URL": "postgresql://u:p@db:5432/app",
    }
    if value is not None:
        environ["PORTSIDE_PUBLIC_URL"] = value
    return load_settings(environ, env_file=tmp_path / "none.env").public_url


@pytest.mark.parametrize(
    "refused",
    [
        None,  # the default, http://127.0.0.1:8000
        "http://app.example.com",
        "HTTP://app.example.com/portal",
        "https://localhost",
        "https://LOCALHOST:8443/app",
        "https://app.localhost",
        "https://127.0.0.1:8000",
        "https://127.0.0.2",
        "https://[::1]:8443",
        "https://0.0.0.0",
    ],
)
def test_production_refuses_a_public_url_that_is_not_https_or_is_local(tmp_path: Path, refused: str | None) -> None:
    with pytest.raises(SettingsError) as error:
        production_public_url(tmp_path, refused)
    assert error.value.variable == "PORTSIDE_PUBLIC_URL"
    assert str(error.value).startswith("PORTSIDE_PUBLIC_URL: ")
    assert "https" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://app.example.com/portal/", "https://app.example.com/portal"),
        ("https://203.0.113.10:8443", "https://203.0.113.10:8443"),
        ("https://[2001:db8::1]/app", "https://[2001:db8::1]/app"),
        ("https://localhost.example.com", "https://localhost.example.com"),
    ],
)
def test_production_accepts_an_https_url_of_another_host(tmp_path: Path, given: str, kept: str) -> None:
    assert production_public_url(tmp_path, given) == kept


def test_development_still_accepts_the_local_default_and_http(tmp_path: Path) -> None:
    environ = {"PORTSIDE_VAR_DIR": str(tmp_path), "PORTSIDE_JWT_SECRET": "k" * 40}
    assert load_settings(environ, env_file=tmp_path / "none.env").public_url == "http://127.0.0.1:8000"
    environ["PORTSIDE_PUBLIC_URL"] = "http://localhost:3000"
    assert load_settings(environ, env_file=tmp_path / "none.env").public_url == "http://localhost:3000"
