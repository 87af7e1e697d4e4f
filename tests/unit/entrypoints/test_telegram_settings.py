"""``PORTSIDE_TELEGRAM_API_BASE`` and ``PORTSIDE_TELEGRAM_WEBHOOK_SECRET``: usable values or
one clear error naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings

API_BASE = "PORTSIDE_TELEGRAM_API_BASE"
WEBHOOK_SECRET = "PORTSIDE_TELEGRAM_WEBHOOK_SECRET"
PRODUCTION = {
    "PORTSIDE_ENV": "production",
    "PORTSIDE_JWT_SECRET": "k" * 40,
    "PORTSIDE_PUBLIC_URL": "https://app.example.com",
}


def settings(tmp_path: Path, *, production: bool = False, **variables: str) -> Settings:
    environ = {"PORTSIDE_VAR_DIR": str(tmp_path), **(PRODUCTION if production else {}), **variables}
    return load_settings(environ, env_file=tmp_path / "none.env")


def refused(tmp_path: Path, *, production: bool = False, **variables: str) -> SettingsError:
    with pytest.raises(SettingsError) as error:
        settings(tmp_path, production=production, **variables)
    assert "\n" not in str(error.value)
    return error.value


def test_the_defaults_are_telegrams_api_and_no_webhook(tmp_path: Path) -> None:
    for production in (False, True):
        s = settings(tmp_path, production=production)
        assert (s.telegram_api_base, s.telegram_webhook_secret) == ("https://api.telegram.org", None)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://api.telegram.org", "https://api.telegram.org"),
        ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
        ("  http://[::1]:8081/telegram/  ", "http://[::1]:8081/telegram"),
        ("", "https://api.telegram.org"),
    ],
)
def test_an_http_api_base_is_kept_without_a_trailing_slash(tmp_path: Path, given: str, kept: str) -> None:
    assert settings(tmp_path, **{API_BASE: given}).telegram_api_base == kept


@pytest.mark.parametrize(
    "bad",
    [
        "api.telegram.org",
        "ftp://api.telegram.org",
        "https://",
        "https:///bot",
        "/relative/path",
        "https://api.telegram.org:port",
        "https://api.telegram.org:99999",
        "https://[::1",
        "https://api.telegram.org/?x=1",
        "https://api.telegram.org/#top",
        "https://user:secret@api.telegram.org",
        "https://api telegram.org",
    ],
)
def test_an_api_base_that_is_not_an_absolute_http_url_is_refused(tmp_path: Path, bad: str) -> None:
    error = refused(tmp_path, **{API_BASE: bad})
    assert error.variable == API_BASE and str(error).startswith(API_BASE)
    assert "secret" not in str(error)


def test_production_refuses_a_plain_http_api_base(tmp_path: Path) -> None:
    error = refused(tmp_path, production=True, **{API_BASE: "http://bot-api.internal:8081"})
    assert error.variable == API_BASE and "https://" in str(error)
    local = settings(tmp_path, production=True, **{API_BASE: "https://bot-api.internal:8443"})
    assert local.telegram_api_base == "https://bot-api.internal:8443"


@pytest.mark.parametrize("secret", ["s", "A-Za-z_0-9", "x" * 256, "-_-"])
def test_a_webhook_secret_in_telegrams_alphabet_is_taken(tmp_path: Path, secret: str) -> None:
    assert settings(tmp_path, **{WEBHOOK_SECRET: secret}).telegram_webhook_secret == secret


def test_an_empty_webhook_secret_is_unset_like_every_empty_setting(tmp_path: Path) -> None:
    assert settings(tmp_path, **{WEBHOOK_SECRET: ""}).telegram_webhook_secret is None


@pytest.mark.parametrize(
    "secret",
    ["x" * 257, "has space", " padded", "dot.ted", "slash/ed", "colon:ed", "plus+", "ümlaut", "tab\tbed", "a=b"],
)
def test_a_webhook_secret_outside_telegrams_alphabet_is_refused_without_echoing_it(tmp_path: Path, secret: str) -> None:
    error = refused(tmp_path, **{WEBHOOK_SECRET: secret})
    assert error.variable == WEBHOOK_SECRET and "256" in str(error)
    assert secret.strip() not in str(error)
