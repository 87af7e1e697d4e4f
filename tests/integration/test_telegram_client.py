"""The Bot API client against the fake: every outcome class, and exactly one request each
(the client never retries by itself)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import structlog

from adapters.telegram.http_client import HttpTelegramClient
from adapters.telegram.log_client import LogTelegramClient
from application.telegram.client import BotInfo, Rejection, SendOutcome, SendResult, TelegramUnavailableError
from tests.support.fake_telegram import (
    Behaviour,
    FakeTelegram,
    bad_request,
    blocked,
    chat_not_found,
    drop,
    hang,
    malformed,
    retry_after,
    server_error,
)

CHAT = 4242
READ_TIMEOUT = 0.3


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeTelegram) -> AsyncIterator[HttpTelegramClient]:
    client = HttpTelegramClient(fake.token, fake.api_base, read_timeout=READ_TIMEOUT)
    yield client
    await client.aclose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_accepted_message_has_its_id(fake: FakeTelegram, client: HttpTelegramClient) -> None:
    first = await client.send_message(CHAT, "hello")
    second = await client.send_message(CHAT, "again")
    assert first.outcome is SendOutcome.ACCEPTED and first.message_id is not None
    assert second.outcome is SendOutcome.ACCEPTED and second.message_id == first.message_id + 1
    assert [(call.text, call.outcome) for call in fake.calls_for(CHAT)] == [
        ("hello", "accepted"),
        ("again", "accepted"),
    ]
    assert client.configured


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        (retry_after(7), SendResult(SendOutcome.NOT_SENT, retry_after=7.0)),
        (retry_after(4, in_body=False), SendResult(SendOutcome.NOT_SENT, retry_after=4.0)),
        (blocked(), SendResult(SendOutcome.REJECTED, rejection=Rejection.BLOCKED)),
        (chat_not_found(), SendResult(SendOutcome.REJECTED, rejection=Rejection.CHAT_NOT_FOUND)),
        (bad_request(), SendResult(SendOutcome.REJECTED, rejection=Rejection.REJECTED)),
        (
            Behaviour("teapot", status=418, description="I'm a teapot"),
            SendResult(SendOutcome.REJECTED, rejection=Rejection.REJECTED),
        ),
        (server_error(502), SendResult(SendOutcome.UNKNOWN)),
        (server_error(500), SendResult(SendOutcome.UNKNOWN)),
        (malformed(), SendResult(SendOutcome.UNKNOWN)),
        (drop(), SendResult(SendOutcome.UNKNOWN)),
    ],
    ids=lambda value: value.kind if isinstance(value, Behaviour) else None,
)
async def test_each_answer_is_classified_after_exactly_one_request(
    fake: FakeTelegram, client: HttpTelegramClient, behaviour: Behaviour, expected: SendResult
) -> None:
    fake.script(CHAT, behaviour)
    assert await client.send_message(CHAT, "hello") == expected
    assert [call.outcome for call in fake.calls_for(CHAT)] == [behaviour.kind]


async def test_a_request_that_gets_no_answer_is_unknown_after_the_read_timeout(
    fake: FakeTelegram, client: HttpTelegramClient
) -> None:
    fake.script(CHAT, hang())
    started = time.monotonic()
    assert await client.send_message(CHAT, "hello") == SendResult(SendOutcome.UNKNOWN)
    assert READ_TIMEOUT * 0.9 <= time.monotonic() - started < READ_TIMEOUT + 1
    assert [call.outcome for call in fake.calls_for(CHAT)] == ["hang"]


async def test_a_429_says_not_sent_once_and_the_next_send_goes_through(
    fake: FakeTelegram, client: HttpTelegramClient
) -> None:
    fake.script(CHAT, retry_after(2, times=1))
    assert await client.send_message(CHAT, "hello") == SendResult(SendOutcome.NOT_SENT, retry_after=2.0)
    assert (await client.send_message(CHAT, "hello")).outcome is SendOutcome.ACCEPTED
    assert [call.outcome for call in fake.calls_for(CHAT)] == ["retry_after", "accepted"]


async def test_a_connection_dropped_mid_pool_does_not_spoil_the_next_send(
    fake: FakeTelegram, client: HttpTelegramClient
) -> None:
    assert (await client.send_message(CHAT, "warm the pool")).outcome is SendOutcome.ACCEPTED
    fake.script(CHAT, drop(times=1))
    assert (await client.send_message(CHAT, "dropped")).outcome is SendOutcome.UNKNOWN
    assert (await client.send_message(CHAT, "after")).outcome is SendOutcome.ACCEPTED
    assert [call.outcome for call in fake.calls_for(CHAT)] == ["accepted", "drop", "accepted"]


async def test_a_server_that_refuses_connections_means_not_sent() -> None:
    client = HttpTelegramClient("1:t", f"http://127.0.0.1:{_closed_port()}")
    try:
        assert await client.send_message(CHAT, "hello") == SendResult(SendOutcome.NOT_SENT)
    finally:
        await client.aclose()


async def test_a_full_pool_means_not_sent(fake: FakeTelegram) -> None:
    fake.script(CHAT, hang())
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=1.0, pool=0.1), limits=httpx.Limits(max_connections=1))
    client = HttpTelegramClient(fake.token, fake.api_base, client=http)
    try:
        hung = asyncio.create_task(client.send_message(CHAT, "holds the only connection"))
        await asyncio.sleep(0.05)
        assert await client.send_message(CHAT + 1, "waits for the pool") == SendResult(SendOutcome.NOT_SENT)
        assert (await hung).outcome is SendOutcome.UNKNOWN
        assert fake.calls_for(CHAT + 1) == []
    finally:
        await client.aclose()
        assert not http.is_closed  # a client passed in belongs to the caller
        await http.aclose()


async def test_a_wrong_token_is_a_rejection(fake: FakeTelegram) -> None:
    client = HttpTelegramClient("999:wrong", fake.api_base)
    try:
        assert await client.send_message(CHAT, "hello") == SendResult(
            SendOutcome.REJECTED, rejection=Rejection.REJECTED
        )
        with pytest.raises(TelegramUnavailableError, match="401"):
            await client.get_me()
    finally:
        await client.aclose()


async def test_get_me_and_set_webhook(fake: FakeTelegram, client: HttpTelegramClient) -> None:
    assert await client.get_me() == BotInfo(id=123456, username="portside_test_bot")
    await client.set_webhook("https://portside.example/bot/webhook", "s3cret")
    assert fake.webhook == {
        "url": "https://portside.example/bot/webhook",
        "secret_token": "s3cret",
        "allowed_updates": ["message"],
    }
    assert [call.method for call in fake.calls] == ["getMe", "setWebhook"]


@pytest.mark.parametrize(
    "behaviour",
    [server_error(502), server_error(500), bad_request(), malformed(), drop(), hang()],
    ids=lambda b: f"{b.kind}-{b.status}",
)
@pytest.mark.parametrize("method", ["getMe", "setWebhook"])
async def test_bot_calls_that_fail_raise_unavailable(
    fake: FakeTelegram, client: HttpTelegramClient, method: str, behaviour: Behaviour
) -> None:
    fake.script_method(method, behaviour)
    with pytest.raises(TelegramUnavailableError) as raised:
        if method == "getMe":
            await client.get_me()
        else:
            await client.set_webhook("https://portside.example/bot/webhook", "s3cret")
    assert fake.token not in str(raised.value) and raised.value.__cause__ is None
    assert fake.webhook is None


async def test_bot_calls_without_a_server_raise_unavailable() -> None:
    client = HttpTelegramClient("1:t", f"http://127.0.0.1:{_closed_port()}")
    try:
        with pytest.raises(TelegramUnavailableError):
            await client.get_me()
        with pytest.raises(TelegramUnavailableError):
            await client.set_webhook("https://x.example/", "s")
    finally:
        await client.aclose()


async def test_the_token_never_reaches_a_log(
    fake: FakeTelegram, client: HttpTelegramClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script(CHAT, server_error(500))
    with caplog.at_level(logging.DEBUG), structlog.testing.capture_logs() as events:
        await client.send_message(CHAT, "hello")
        await client.send_message(CHAT + 1, "hello")
    assert fake.token not in caplog.text and "/bot<redacted>/sendMessage" in caplog.text
    assert events and fake.token not in repr(events) and "hello" not in repr(events)
    assert fake.token not in repr(client)


async def test_the_log_client_logs_and_sends_nothing() -> None:
    client = LogTelegramClient()
    with structlog.testing.capture_logs() as events:
        assert await client.send_message(CHAT, "secret words") == SendResult(SendOutcome.ACCEPTED)
    assert not client.configured
    assert events == [
        {
            "event": "telegram_message_logged",
            "log_level": "info",
            "method": "sendMessage",
            "chat_id": CHAT,
            "characters": 12,
        }
    ]
    with pytest.raises(TelegramUnavailableError, match="no bot token configured"):
        await client.get_me()
    with pytest.raises(TelegramUnavailableError, match="no bot token configured"):
        await client.set_webhook("https://x.example/", "s")
    await client.aclose()


async def test_sends_overlap_on_pooled_connections_and_the_fake_counts_them() -> None:
    async with FakeTelegram(latency=0.05) as fake:
        client = HttpTelegramClient(fake.token, fake.api_base)
        try:
            started = time.monotonic()
            results = await asyncio.gather(*(client.send_message(chat, "hi") for chat in range(10)))
            await client.send_message(0, "again")
        finally:
            await client.aclose()
    assert all(result.outcome is SendOutcome.ACCEPTED for result in results)
    assert time.monotonic() - started < 0.5 and fake.max_in_flight >= 5
    assert fake.accepted_count() == 11 and fake.max_in_window(1.0) == 11
    assert len(fake.accepted_for(0)) == 2 and 0.04 <= fake.min_gap_per_chat() < 1.0


async def test_the_fake_is_scriptable_over_http(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake.api_base) as http:
        spec = {"kind": "retry_after", "seconds": 3, "times": 1}
        assert (await http.post("/_fake/script", json={"chat_id": CHAT, "behaviour": spec})).json()["ok"]
        client = HttpTelegramClient(fake.token, fake.api_base, client=http)
        assert await client.send_message(CHAT, "hi") == SendResult(SendOutcome.NOT_SENT, retry_after=3.0)
        assert (await client.send_message(CHAT, "hi")).outcome is SendOutcome.ACCEPTED
        calls = (await http.get("/_fake/calls")).json()["result"]
    assert [call["outcome"] for call in calls] == ["retry_after", "accepted"]


# -- requests that never leave ------------------------------------------------------------

UNUSABLE_API_BASES = [
    pytest.param("http://[::1", id="invalid-url"),
    pytest.param("http://api.example\x00", id="non-printable"),
    pytest.param("http://127.0.0.1:99999", id="port-out-of-range"),
    pytest.param("ftp://127.0.0.1", id="unsupported-protocol"),
    pytest.param("127.0.0.1:8081", id="no-scheme"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("api_base", UNUSABLE_API_BASES)
async def test_a_url_that_cannot_be_requested_means_not_sent(api_base: str) -> None:
    client = HttpTelegramClient("1:t", api_base)
    try:
        with structlog.testing.capture_logs() as events:
            assert await client.send_message(CHAT, "hello") == SendResult(SendOutcome.NOT_SENT)
    finally:
        await client.aclose()
    assert [event["event"] for event in events] == ["telegram_not_sent"]


@pytest.mark.parametrize("api_base", UNUSABLE_API_BASES)
async def test_bot_calls_to_a_url_that_cannot_be_requested_raise_unavailable(api_base: str) -> None:
    client = HttpTelegramClient("1:t", api_base)
    try:
        with pytest.raises(TelegramUnavailableError) as raised:
            await client.get_me()
        assert raised.value.__cause__ is None
        with pytest.raises(TelegramUnavailableError):
            await client.set_webhook("https://x.example/", "s")
    finally:
        await client.aclose()


async def test_a_text_that_cannot_be_encoded_is_rejected_unsent(fake: FakeTelegram, client: HttpTelegramClient) -> None:
    """It never will be encodable: retrying it would keep its campaign running for ever."""
    rejected = SendResult(SendOutcome.REJECTED, rejection=Rejection.REJECTED)
    assert await client.send_message(CHAT, "half a pair: \ud83d") == rejected
    assert fake.calls_for(CHAT) == []
    assert (await client.send_message(CHAT, "whole: \U0001f680")).outcome is SendOutcome.ACCEPTED


def _raising(error: Exception) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (httpx.UnsupportedProtocol("unsupported"), SendOutcome.NOT_SENT),
        (httpx.LocalProtocolError("illegal header value"), SendOutcome.NOT_SENT),
        (httpx.ConnectError("refused"), SendOutcome.NOT_SENT),
        (httpx.RemoteProtocolError("server disconnected"), SendOutcome.UNKNOWN),
        (httpx.WriteError("broken pipe"), SendOutcome.UNKNOWN),
        (httpx.ReadTimeout("timed out"), SendOutcome.UNKNOWN),
        (ConnectionResetError(), SendOutcome.UNKNOWN),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
async def test_transport_errors_are_not_sent_only_when_the_request_never_left(
    error: Exception, outcome: SendOutcome
) -> None:
    http = _raising(error)
    client = HttpTelegramClient("1:t", "https://api.telegram.example", client=http)
    try:
        assert await client.send_message(CHAT, "hello") == SendResult(outcome)
        with pytest.raises(TelegramUnavailableError):
            await client.get_me()
    finally:
        await http.aclose()
