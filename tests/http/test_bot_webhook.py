"""``POST /api/v1/bot/webhook`` and ``GET /api/v1/bot/status``: the secret (401 without
``WWW-Authenticate``, nothing stored), the lenient ``Update`` body, one store per
``update_id``, ``/start`` and ``/stop`` through the in-process job runner, threads made from
text messages; the bot's status for admins only.

The "live" app here is the whole process of ``portside serve`` without Redis: the HTTP app
with ``in_process_jobs`` in its lifespan (relay, job runner, campaign sender), its own
default timings, talking to a fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select

from adapters.sql.tables import bot_updates
from adapters.system.clock import FixedClock
from entrypoints.container import build_container
from entrypoints.http.app import create_app, http_providers
from entrypoints.settings import Settings
from entrypoints.worker.loops import in_process_jobs
from tests.http.conftest import API, Api, fixed_clock_provider, running_api
from tests.http.helpers import assert_problem, assert_unauthorized, run_sql
from tests.http.test_users_api import admin_token, user_token
from tests.support.builders import T0
from tests.support.fake_telegram import FakeTelegram
from tests.support.settings import test_settings

SECRET = "s3cret"
T = TypeVar("T")
WEBHOOK = f"{API}/bot/webhook"
STATUS = f"{API}/bot/status"
THREADS = f"{API}/chat/threads"
STATUS_KEYS = {"configured", "webhook_secret_set", "subscribers", "queued_jobs"}
THREAD_KEYS = {"id", "chat_id", "title", "last_message_at", "blocked"}
MESSAGE_KEYS = {"id", "thread_id", "direction", "text", "status", "error", "created_at", "sent_at"}


# -- shared with the campaign API tests and test_chat_api -----------------------------------


@asynccontextmanager
async def live_api(settings: Settings, clock: FixedClock | None = None) -> AsyncIterator[Api]:
    """The app on ``settings`` with its background work (``in_process_jobs``) running in its
    lifespan, as ``portside serve`` runs it without Redis; a fixed clock."""
    clock = clock or FixedClock(T0)
    container = build_container(settings, *http_providers(), fixed_clock_provider(clock))
    app = create_app(settings, container, background=[in_process_jobs])
    ready, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:  # entered and left in one task, whichever task uses the app
        async with app.lifespan():
            ready.set()
            await stop.wait()

    running = asyncio.create_task(lifespan())
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([running, waiting], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if running.done():
        running.result()  # the start failed: say why
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client=client, clock=clock, settings=settings, container=container)
    finally:
        stop.set()
        await running


def bot_settings(database_url: str, fake: FakeTelegram | None = None, **changes: Any) -> Settings:
    """Settings with the fake Bot API's token and address and the webhook secret ``s3cret``."""
    telegram: dict[str, Any] = {"telegram_webhook_secret": SECRET}
    if fake is not None:
        telegram |= {"telegram_bot_token": fake.token, "telegram_api_base": fake.api_base}
    return test_settings(database_url, **{**telegram, **changes})


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], seconds: float = 5.0, what: str = "the condition"
) -> T:
    """Call ``probe`` until ``done`` holds for what it returns (its last value), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what} did not hold within {seconds} s; last: {value!r}"
        await asyncio.sleep(0.05)


def text_update(update_id: int, chat_id: int, text: str, **chat: Any) -> dict[str, Any]:
    """A Telegram ``Update`` carrying a private text message (``chat`` adds to the chat object)."""
    chat = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}", **chat}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Someone"},
            "chat": chat,
            "text": text,
        },
    }


async def post_update(api: Api, update: Any, secret: str | None = SECRET) -> httpx.Response:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    return await api.client.post(WEBHOOK, json=update, headers=headers)


async def deliver(api: Api, update: dict[str, Any]) -> None:
    """Post ``update`` with the right secret; it must be taken."""
    response = await post_update(api, update)
    assert response.status_code == 200, response.text


async def get_json(api: Api, token: str, url: str, **params: Any) -> Any:
    response = await api.client.get(url, params=params, headers=api.bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def threads(api: Api, token: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await get_json(api, token, THREADS, **params))["items"]
    return items


async def thread_of(api: Api, token: str, chat_id: int, seconds: float = 5.0) -> dict[str, Any]:
    """The thread of ``chat_id``, once the job runner made it."""
    found = await eventually(
        lambda: threads(api, token, size=100),
        lambda items: any(t["chat_id"] == chat_id for t in items),
        seconds,
        f"a thread for chat {chat_id}",
    )
    return next(t for t in found if t["chat_id"] == chat_id)


async def messages(api: Api, token: str, thread_id: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await get_json(api, token, f"{THREADS}/{thread_id}/messages", **params))["items"]
    return items


async def bot_status(api: Api, token: str) -> dict[str, Any]:
    body: dict[str, Any] = await get_json(api, token, STATUS)
    return body


async def subscribers_become(api: Api, token: str, count: int, seconds: float = 5.0) -> None:
    await eventually(
        lambda: bot_status(api, token), lambda s: s["subscribers"] == count, seconds, f"{count} subscribers"
    )


async def stored_updates(api: Api) -> int:
    [[(count,)]] = await run_sql(api, select(func.count()).select_from(bot_updates))
    return int(count)


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
async def live(pg_url: str, fake: FakeTelegram) -> AsyncIterator[Api]:
    async with live_api(bot_settings(pg_url, fake)) as api:
        yield api


# -- the secret ---------------------------------------------------------------------------


async def test_without_a_configured_secret_the_webhook_does_not_exist(pg_url: str) -> None:
    async with running_api(test_settings(pg_url)) as api:
        for secret in (None, "", SECRET, "anything"):
            response = await post_update(api, text_update(1, 10, "hi"), secret)
            assert_problem(response, 404)
        assert await stored_updates(api) == 0


async def test_a_missing_or_wrong_secret_is_401_without_a_challenge_and_stores_nothing(live: Api) -> None:
    admin = await admin_token(live)
    for secret in (None, "", "S3CRET", "s3cret ", SECRET + "x", "wrong"):
        response = await post_update(live, text_update(1, 10, "/start"), secret)
        body = assert_problem(response, 401)
        assert "www-authenticate" not in response.headers, secret
        assert "s3cret" not in response.text and body["status"] == 401
    await asyncio.sleep(1.5)  # the relay and the job runner had their chance
    assert await threads(live, admin) == []
    assert (await bot_status(live, admin))["subscribers"] == 0
    assert await stored_updates(live) == 0


async def test_the_right_secret_is_answered_200_fast(live: Api) -> None:
    admin = await admin_token(live)
    started = time.monotonic()
    response = await post_update(live, text_update(1, 10, "hello"))
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed < 1.0, elapsed
    assert await stored_updates(live) == 1
    await thread_of(live, admin, 10)


@pytest.mark.parametrize(
    "raw", [b"[1]", b"{", b"null", b'{"update_id": "a"}'], ids=["array", "truncated", "null", "bad-id"]
)
async def test_without_the_secret_the_body_is_not_even_looked_at(live: Api, raw: bytes) -> None:
    """401 for a missing or wrong secret whatever the body: an unauthenticated caller learns
    nothing about what the webhook would accept."""
    for secret in (None, "wrong"):
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        response = await live.client.post(WEBHOOK, content=raw, headers=headers)
        assert_problem(response, 401)
        assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("raw", [b"[1]", b"{", b"null"], ids=["array", "truncated", "null"])
async def test_without_a_configured_secret_the_webhook_is_404_whatever_the_body(pg_url: str, raw: bytes) -> None:
    async with running_api(test_settings(pg_url)) as api:
        for secret in (None, SECRET):
            headers = {"Content-Type": "application/json"}
            if secret is not None:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            assert_problem(await api.client.post(WEBHOOK, content=raw, headers=headers), 404)


# -- the body -----------------------------------------------------------------------------


async def test_unknown_fields_and_kinds_of_update_are_accepted(live: Api) -> None:
    admin = await admin_token(live)
    odd = {"update_id": 5, "edited_channel_post": {"message_id": 1, "chat": {"id": -100, "type": "channel"}}}
    assert (await post_update(live, {**odd, "something": 1})).status_code == 200
    poll = {"update_id": 6, "poll": {"id": "p", "question": "?", "options": []}, "future_field": [1, {"x": None}]}
    assert (await post_update(live, poll)).status_code == 200
    extra = text_update(7, 20, "with extras", is_forum=False, emoji_status="🦆")
    extra["message"]["brand_new_thing"] = {"nested": True}
    extra["business_connection_id"] = "abc"
    assert (await post_update(live, extra)).status_code == 200
    no_text = {"update_id": 8, "message": {"message_id": 8, "chat": {"id": 21, "type": "private"}, "sticker": {}}}
    assert (await post_update(live, no_text)).status_code == 200
    assert await stored_updates(live) == 4
    thread = await thread_of(live, admin, 20)
    assert [m["text"] for m in await messages(live, admin, thread["id"])] == ["with extras"]
    await asyncio.sleep(0.5)
    assert [t["chat_id"] for t in await threads(live, admin)] == [20]  # the others carry no text


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"message": {"text": "hi"}}, id="no-update_id"),
        pytest.param({"update_id": "7"}, id="string-update_id"),
        pytest.param({"update_id": 7.5}, id="float-update_id"),
        pytest.param({"update_id": True}, id="bool-update_id"),
        pytest.param({"update_id": None}, id="null-update_id"),
        pytest.param({"update_id": -1}, id="negative-update_id"),
        pytest.param({"update_id": 2**63}, id="huge-update_id"),
    ],
)
async def test_an_update_without_an_integer_update_id_is_refused(live: Api, body: dict[str, Any]) -> None:
    response = await post_update(live, body)
    assert response.status_code in (400, 422), response.text
    assert_problem(response, response.status_code)
    assert await stored_updates(live) == 0


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[1, 2, 3]", id="array"),
        pytest.param(b'"update"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(b'{"update_id": 1', id="truncated"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_a_client_error(live: Api, raw: bytes) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    response = await live.client.post(WEBHOOK, content=raw, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert_problem(response, response.status_code)
    assert await stored_updates(live) == 0


async def test_a_repeated_update_id_is_stored_and_handled_once(live: Api) -> None:
    admin = await admin_token(live)
    update = text_update(42, 30, "only once")
    for _ in range(3):
        assert (await post_update(live, update)).status_code == 200
    changed = {**update, "message": {**update["message"], "text": "a different text, same id"}}
    assert (await post_update(live, changed)).status_code == 200
    thread = await thread_of(live, admin, 30)
    await asyncio.sleep(1.0)  # any second handling would have happened by now
    assert [m["text"] for m in await messages(live, admin, thread["id"])] == ["only once"]
    assert await stored_updates(live) == 1


# -- what updates do ----------------------------------------------------------------------


async def test_start_subscribes_and_stop_unsubscribes_within_five_seconds(live: Api) -> None:
    admin = await admin_token(live)
    assert (await bot_status(live, admin))["subscribers"] == 0
    await deliver(live, text_update(1, 100, "/start"))
    await subscribers_become(live, admin, 1)
    await deliver(live, text_update(2, 101, "/start@portside_test_bot"))
    await subscribers_become(live, admin, 2)
    await deliver(live, text_update(3, 100, "/start"))  # twice: still one subscription
    await deliver(live, text_update(4, 102, "start"))  # not a command
    await deliver(live, text_update(5, 103, "/started"))  # not /start
    await eventually(lambda: threads(live, admin), lambda items: len(items) == 4, what="four threads")
    assert (await bot_status(live, admin))["subscribers"] == 2
    await deliver(live, text_update(6, 100, "/stop"))
    await subscribers_become(live, admin, 1)
    await deliver(live, text_update(7, 101, "/stop@portside_test_bot"))
    await subscribers_become(live, admin, 0)


async def test_a_text_message_makes_the_chat_thread_with_a_received_message(live: Api) -> None:
    admin = await admin_token(live)
    await deliver(live, text_update(1, -1001, "hello crew", type="group", title="Deck crew", first_name=None))
    await deliver(live, text_update(2, 501, "hi", first_name="Ada", last_name="Lovelace"))
    await deliver(live, text_update(3, 502, "hey", first_name=None, username="grace"))
    group = await thread_of(live, admin, -1001)
    assert set(group) == THREAD_KEYS
    assert (group["title"], group["blocked"]) == ("Deck crew", False)
    assert (await thread_of(live, admin, 501))["title"] == "Ada Lovelace"
    assert "grace" in (await thread_of(live, admin, 502))["title"]

    [message] = await messages(live, admin, group["id"])
    assert set(message) == MESSAGE_KEYS
    assert (message["thread_id"], message["direction"], message["text"]) == (group["id"], "in", "hello crew")
    assert (message["status"], message["error"], message["sent_at"]) == ("received", None, None)
    one = await get_json(live, admin, f"{API}/chat/messages/{message['id']}")
    assert one == message

    await deliver(live, text_update(4, -1001, "more", type="group", title="Deck crew, renamed"))
    await eventually(lambda: messages(live, admin, group["id"]), lambda items: len(items) == 2, what="two messages")
    assert (await thread_of(live, admin, -1001))["id"] == group["id"]  # the same thread


# -- the status ---------------------------------------------------------------------------


async def test_status_without_a_token_or_secret(api: Api) -> None:
    admin = await admin_token(api)
    status = await bot_status(api, admin)
    assert set(status) == STATUS_KEYS
    assert (status["configured"], status["webhook_secret_set"], status["subscribers"]) == (False, False, 0)
    assert isinstance(status["queued_jobs"], int) and status["queued_jobs"] >= 0


async def test_status_with_a_token_and_a_secret(live: Api) -> None:
    admin = await admin_token(live)
    status = await bot_status(live, admin)
    assert set(status) == STATUS_KEYS
    assert (status["configured"], status["webhook_secret_set"], status["subscribers"]) == (True, True, 0)
    assert isinstance(status["queued_jobs"], int) and status["queued_jobs"] >= 0


async def test_status_mirrors_each_setting_on_its_own(pg_url: str, fake: FakeTelegram) -> None:
    only_token = test_settings(pg_url, telegram_bot_token=fake.token, telegram_api_base=fake.api_base)
    async with running_api(only_token) as api:
        status = await bot_status(api, await admin_token(api))
        assert (status["configured"], status["webhook_secret_set"]) == (True, False)
    async with running_api(test_settings(pg_url, telegram_webhook_secret=SECRET)) as api:
        status = await bot_status(api, await admin_token(api, "root2@example.com"))
        assert (status["configured"], status["webhook_secret_set"]) == (False, True)


async def test_only_admins_see_the_status(api: Api) -> None:
    token, _ = await user_token(api)
    assert_problem(await api.client.get(STATUS, headers=api.bearer(token)), 403)
    assert_unauthorized(await api.client.get(STATUS))
    assert_unauthorized(await api.client.get(STATUS, headers=api.bearer("not-a-token")))
