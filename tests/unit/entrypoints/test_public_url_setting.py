"""``PORTSIDE_PUBLIC_URL``: the base of the links in e-mails, an http(s) URL or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import SettingsError, load_settings


def public_url(tmp_path: Path, value: str | None) -> str:
    environ = {"PORTSIDE_VAR_DIR": str(tmp_path), "PORTSIDE_JWT_SECRET": "k" * 40}
    if value is not None:
        environ["PORTSIDE_PUBLIC_URL"] = value
    return load_settings(environ, env_file=tmp_path / "none.env").public_url


def test_the_default_is_the_local_server(tmp_path: Path) -> None:
    assert public_url(tmp_path, None) == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://app.example.com/", "https://app.example.com"),
        ("http://localhost:3000/portal/", "http://localhost:3000/portal"),
        ("  https://[2001:db8::1]:8443/app  ", "https://[2001:db8::1]:8443/app"),
    ],
)
def test_an_http_url_is_kept_without_a_trailing_slash(tmp_path: Path, given: str, kept: str) -> None:
    assert public_url(tmp_path, given) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "app.example.com",
        "ftp://app.example.com",
        "https://",
        "https:///path",
        "https://app.example.com:port",
        "https://app.example.com:99999",
        "https://app.example.com/?next=1",
        "https://app.example.com/#top",
        "https://user:secret@app.example.com",
        "https://app example.com",
        "javascript:alert(1)",
    ],
)
def test_anything_else_stops_start_up_naming_the_variable(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SettingsError) as error:
        public_url(tmp_path, bad)
    assert error.value.variable == "PORTSIDE_PUBLIC_URL"
    assert "\n" not in str(error.value)
    assert "secret" not in str(error.value)  # a password in the URL is not echoed
