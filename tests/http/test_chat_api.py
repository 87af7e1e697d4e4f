"""``/api/v1/chat``: admins read the bot's threads (most recent first) and their messages
(newest first), and reply; a reply is ``pending`` (202) until the in-process job runner sends
it through the fake Bot API, exactly once, or fails it (a blocked bot marks the thread)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from tests.http.conftest import API, Api
from tests.http.helpers import RFC3339_UTC, assert_problem, assert_unauthorized, field_errors
from tests.http.test_bot_webhook import (
    MESSAGE_KEYS,
    THREAD_KEYS,
    THREADS,
    bot_settings,
    bot_status,
    deliver,
    eventually,
    get_json,
    live_api,
    messages,
    subscribers_become,
    text_update,
    thread_of,
    threads,
)
from tests.http.test_users_api import admin_token, user_token
from tests.support.fake_telegram import FakeTelegram, blocked, ok

MESSAGES = f"{API}/chat/messages"


@pytest.fixture
async def live(pg_url: str, fake: FakeTelegram) -> AsyncIterator[Api]:
    async with live_api(bot_settings(pg_url, fake)) as api:
        yield api


async def a_thread(api: Api, admin: str, chat_id: int = 700, update_id: int = 1) -> dict[str, Any]:
    await deliver(api, text_update(update_id, chat_id, "hello bot"))
    return await thread_of(api, admin, chat_id)


async def reply(api: Api, token: str, thread_id: str, body: Any) -> Any:
    return await api.client.post(f"{THREADS}/{thread_id}/messages", json=body, headers=api.bearer(token))


async def message(api: Api, token: str, message_id: str) -> dict[str, Any]:
    body: dict[str, Any] = await get_json(api, token, f"{MESSAGES}/{message_id}")
    return body


async def settled(api: Api, token: str, message_id: str, seconds: float = 5.0) -> dict[str, Any]:
    """The reply once it is no longer ``pending``."""
    return await eventually(
        lambda: message(api, token, message_id), lambda m: m["status"] != "pending", seconds, "the reply settling"
    )


# -- reading ------------------------------------------------------------------------------


async def test_threads_are_listed_most_recent_first_and_paged(live: Api) -> None:
    admin = await admin_token(live)
    for n, chat in enumerate((801, 802, 803), start=1):
        await deliver(live, text_update(n, chat, f"hi from {chat}"))
        await thread_of(live, admin, chat)
        live.clock.advance(timedelta(minutes=1))
    await deliver(live, text_update(4, 801, "801 again"))  # now the most recent
    await eventually(
        lambda: threads(live, admin), lambda items: items[0]["chat_id"] == 801, what="801 to be the most recent"
    )
    body = await get_json(live, admin, THREADS)
    assert [t["chat_id"] for t in body["items"]] == [801, 803, 802]
    assert (body["page"], body["size"], body["total"], body["pages"]) == (1, 20, 3, 1)
    assert all(set(t) == THREAD_KEYS and RFC3339_UTC.match(t["last_message_at"]) for t in body["items"])
    assert body["items"][0]["last_message_at"] > body["items"][1]["last_message_at"]
    second = await get_json(live, admin, THREADS, page=2, size=2)
    assert ([t["chat_id"] for t in second["items"]], second["total"], second["pages"]) == ([802], 3, 2)
    for params in ({"size": 0}, {"size": 101}, {"page": 0}, {"size": "x"}):
        response = await live.client.get(THREADS, params=params, headers=live.bearer(admin))
        assert_problem(response, 422)


async def test_messages_are_listed_newest_first_and_read_one_by_one(live: Api) -> None:
    admin = await admin_token(live)
    thread = await a_thread(live, admin, 900, update_id=1)
    for n in (2, 3):
        live.clock.advance(timedelta(seconds=30))
        await deliver(live, text_update(n, 900, f"message {n}"))

        def has(items: list[dict[str, Any]], count: int = n) -> bool:
            return len(items) == count

        await eventually(lambda: messages(live, admin, thread["id"]), has, what=f"{n} messages")
    live.clock.advance(timedelta(seconds=30))
    sent = await reply(live, admin, thread["id"], {"text": "an answer"})
    assert sent.status_code == 202, sent.text
    page = await get_json(live, admin, f"{THREADS}/{thread['id']}/messages")
    assert [m["text"] for m in page["items"]] == ["an answer", "message 3", "message 2", "hello bot"]
    assert [m["direction"] for m in page["items"]] == ["out", "in", "in", "in"]
    assert (page["page"], page["size"], page["total"], page["pages"]) == (1, 20, 4, 1)
    assert all(set(m) == MESSAGE_KEYS and m["thread_id"] == thread["id"] for m in page["items"])
    paged = await get_json(live, admin, f"{THREADS}/{thread['id']}/messages", page=2, size=3)
    assert ([m["text"] for m in paged["items"]], paged["pages"]) == (["hello bot"], 2)
    oldest = page["items"][-1]
    assert await message(live, admin, oldest["id"]) == oldest
    bad = await live.client.get(f"{THREADS}/{thread['id']}/messages", params={"size": 0}, headers=live.bearer(admin))
    assert_problem(bad, 422)


async def test_unknown_threads_and_messages_are_404(live: Api) -> None:
    admin = await admin_token(live)
    unknown = uuid4()
    for response in (
        await live.client.get(f"{THREADS}/{unknown}/messages", headers=live.bearer(admin)),
        await live.client.get(f"{MESSAGES}/{unknown}", headers=live.bearer(admin)),
        await reply(live, admin, str(unknown), {"text": "hello?"}),
    ):
        assert_problem(response, 404)
    thread = await a_thread(live, admin)
    assert_problem(await live.client.get(f"{MESSAGES}/{thread['id']}", headers=live.bearer(admin)), 404)


# -- replying -----------------------------------------------------------------------------


async def test_a_reply_is_pending_then_sent_exactly_once(live: Api, fake: FakeTelegram) -> None:
    admin = await admin_token(live)
    thread = await a_thread(live, admin, 700)
    response = await reply(live, admin, thread["id"], {"text": "Thanks for writing!"})
    assert response.status_code == 202, response.text
    queued = response.json()
    assert set(queued) == MESSAGE_KEYS
    assert (queued["thread_id"], queued["direction"], queued["text"]) == (thread["id"], "out", "Thanks for writing!")
    assert (queued["status"], queued["error"], queued["sent_at"]) == ("pending", None, None)
    assert RFC3339_UTC.match(queued["created_at"])

    done = await settled(live, admin, queued["id"])
    assert (done["status"], done["error"]) == ("sent", None), done
    assert done["sent_at"] is not None and RFC3339_UTC.match(done["sent_at"])
    await asyncio.sleep(0.5)  # no second send after the first
    assert [(call.chat_id, call.text) for call in fake.accepted_for(700)] == [(700, "Thanks for writing!")]
    assert len(fake.calls_for(700)) == 1
    [listed] = [m for m in await messages(live, admin, thread["id"]) if m["direction"] == "out"]
    assert listed == done
    assert (await thread_of(live, admin, 700))["blocked"] is False


async def test_a_reply_to_a_chat_that_blocked_the_bot_fails_and_marks_the_thread(live: Api, fake: FakeTelegram) -> None:
    admin = await admin_token(live)
    await deliver(live, text_update(1, 710, "/start"))
    await subscribers_become(live, admin, 1)
    thread = await thread_of(live, admin, 710)
    assert thread["blocked"] is False
    fake.script(710, blocked())
    response = await reply(live, admin, thread["id"], {"text": "are you there?"})
    assert response.status_code == 202, response.text
    done = await settled(live, admin, response.json()["id"])
    assert (done["status"], done["error"], done["sent_at"]) == ("failed", "blocked", None)
    assert (await thread_of(live, admin, 710))["blocked"] is True
    assert (await bot_status(live, admin))["subscribers"] == 0  # a blocked bot unsubscribes the chat
    await asyncio.sleep(0.5)
    assert len(fake.calls_for(710)) == 1  # a permanent rejection is not retried

    # the user unblocks the bot and says /start again: subscribed, and the thread no longer blocked
    fake.script(710, ok())
    await deliver(live, text_update(2, 710, "/start"))
    await subscribers_become(live, admin, 1)
    assert (await thread_of(live, admin, 710))["blocked"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"text": ""}, "text", id="empty"),
        pytest.param({"text": "   \n\t "}, "text", id="blank"),
        pytest.param({"text": "x" * 4097}, "text", id="4097-chars"),
        pytest.param({"text": "hi", "parse_mode": "HTML"}, "parse_mode", id="unknown-field"),
        pytest.param({}, "text", id="missing"),
        pytest.param({"text": 5}, "text", id="not-a-string"),
    ],
)
async def test_a_reply_must_be_1_to_4096_characters_and_not_blank(
    live: Api, fake: FakeTelegram, body: dict[str, Any], field: str
) -> None:
    admin = await admin_token(live)
    thread = await a_thread(live, admin)
    problem = assert_problem(await reply(live, admin, thread["id"], body), 422)
    assert field in field_errors(problem)
    assert [m["direction"] for m in await messages(live, admin, thread["id"])] == ["in"]
    assert fake.calls_for(700) == []


async def test_a_reply_of_4096_characters_is_taken(live: Api, fake: FakeTelegram) -> None:
    admin = await admin_token(live)
    thread = await a_thread(live, admin)
    response = await reply(live, admin, thread["id"], {"text": "é" * 4096})
    assert response.status_code == 202, response.text
    assert (await settled(live, admin, response.json()["id"]))["status"] == "sent"
    assert [call.text for call in fake.accepted_for(700)] == ["é" * 4096]


async def test_only_admins_read_and_reply(live: Api) -> None:
    admin = await admin_token(live)
    thread = await a_thread(live, admin)
    [incoming] = await messages(live, admin, thread["id"])
    user, _ = await user_token(live)
    requests = [
        ("GET", THREADS, None),
        ("GET", f"{THREADS}/{thread['id']}/messages", None),
        ("GET", f"{MESSAGES}/{incoming['id']}", None),
        ("POST", f"{THREADS}/{thread['id']}/messages", {"text": "sneaky"}),
    ]
    for method, url, body in requests:
        forbidden = await live.client.request(method, url, json=body, headers=live.bearer(user))
        assert_problem(forbidden, 403)
        assert_unauthorized(await live.client.request(method, url, json=body))
    assert [m["direction"] for m in await messages(live, admin, thread["id"])] == ["in"]
