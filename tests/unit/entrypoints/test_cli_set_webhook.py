"""``portside set-webhook``: registers ``PORTSIDE_PUBLIC_URL/api/v1/bot/webhook`` (or
``--url``) with the webhook secret, against the fake Bot API; 2 when the token or the secret
is not configured (and Telegram is not asked), 1 when Telegram refuses or cannot be reached.

``main`` runs its own event loop (``asyncio.run``), so the fake runs on a loop of its own in
a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from entrypoints.cli import main
from tests.support.fake_telegram import FakeTelegram, bad_request
from tests.support.server import free_port

SECRET = "s3cret-for_the-webhook"
TOKEN = "PORTSIDE_TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET = "PORTSIDE_TELEGRAM_WEBHOOK_SECRET"

pytestmark = pytest.mark.usefixtures("main_logging_restored")


@contextmanager
def _fake_in_a_thread() -> Iterator[FakeTelegram]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
    thread.start()
    fake = FakeTelegram()
    try:
        asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with _fake_in_a_thread() as fake:
        yield fake


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeTelegram) -> pytest.MonkeyPatch:
    """A bot token, a webhook secret and a public URL (with a path and a trailing slash), with
    httpx's request lines logged (``info``): the token must not show in them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTSIDE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTSIDE_LOG_LEVEL", "info")
    monkeypatch.setenv("PORTSIDE_PUBLIC_URL", "https://portside.example/base/")
    monkeypatch.setenv("PORTSIDE_TELEGRAM_API_BASE", fake.api_base)
    monkeypatch.setenv(TOKEN, fake.token)
    monkeypatch.setenv(WEBHOOK_SECRET, SECRET)
    return monkeypatch


def test_registers_the_public_urls_webhook_with_the_secret(
    environment: pytest.MonkeyPatch, fake: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["set-webhook"]) == 0
    url = "https://portside.example/base/api/v1/bot/webhook"
    assert fake.webhook == {"url": url, "secret_token": SECRET, "allowed_updates": ["message"]}
    assert [(call.method, call.outcome) for call in fake.calls] == [("setWebhook", "accepted")]
    captured = capsys.readouterr()
    assert f"webhook set: {url}" in captured.out.splitlines()
    assert fake.token not in captured.out + captured.err


def test_url_given_on_the_command_line_wins(environment: pytest.MonkeyPatch, fake: FakeTelegram) -> None:
    assert main(["set-webhook", "--url", "https://elsewhere.example/hook"]) == 0
    assert fake.webhook is not None
    assert (fake.webhook["url"], fake.webhook["secret_token"]) == ("https://elsewhere.example/hook", SECRET)


@pytest.mark.parametrize("missing", [TOKEN, WEBHOOK_SECRET])
def test_without_a_token_or_a_secret_it_exits_2_naming_it_and_asks_nothing(
    environment: pytest.MonkeyPatch, fake: FakeTelegram, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    environment.delenv(missing)
    assert main(["set-webhook"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"portside: set-webhook: {missing} is not set"]
    assert fake.calls == []


def test_exits_1_when_telegram_refuses(
    environment: pytest.MonkeyPatch, fake: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script_method("setWebhook", bad_request("Bad Request: bad webhook: HTTPS url must be provided for webhook"))
    assert main(["set-webhook"]) == 1
    err = capsys.readouterr().err
    assert "portside: set-webhook: Telegram refused or could not be reached: setWebhook: HTTP 400" in err
    assert fake.token not in err
    assert [(call.method, call.outcome) for call in fake.calls] == [("setWebhook", "bad_request")]
    assert fake.webhook is None


def test_exits_1_when_telegram_cannot_be_reached(
    environment: pytest.MonkeyPatch, fake: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("PORTSIDE_TELEGRAM_API_BASE", f"http://127.0.0.1:{free_port()}")
    assert main(["set-webhook"]) == 1
    err = capsys.readouterr().err
    assert "portside: set-webhook: Telegram refused or could not be reached: setWebhook: ConnectError" in err
    assert fake.token not in err
