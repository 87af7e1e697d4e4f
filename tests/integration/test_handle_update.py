"""``HandleUpdate`` on memory and PostgreSQL, with two updates of one chat handled at once or
out of order, as two workers may: one thread, every message in it, commands in update order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.chat import InMemoryChatUnitOfWork
from adapters.memory.database import InMemoryDatabase
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.chat import SqlChatUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.system.clock import FixedClock
from adapters.system.ids import Uuid7Generator
from application.chat.handle_update import HandleUpdate
from application.chat.ports import ChatUnitOfWork
from application.shared.events import Envelope
from domain.chat.chat import WebhookUpdate
from domain.shared.pagination import PageRequest
from tests.support.builders import T0

Units = Callable[[], ChatUnitOfWork]


@pytest.fixture(params=["memory", "postgres"])
def units(request: pytest.FixtureRequest) -> Units:
    if request.param == "memory":
        database = InMemoryDatabase()
        return lambda: InMemoryChatUnitOfWork(InMemoryUnitOfWork(database))
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return lambda: SqlChatUnitOfWork(SqlUnitOfWork(engine))


def _update(update_id: int, chat_id: int, text: str, message_id: int = 1) -> dict[str, Any]:
    chat = {"id": chat_id, "first_name": "Ada"}
    return {"update_id": update_id, "message": {"message_id": message_id, "chat": chat, "text": text}}


async def _stored(units: Units, *updates: dict[str, Any]) -> list[Envelope]:
    async with units() as uow:
        for payload in updates:
            update = WebhookUpdate.receive(record_id=uuid4(), update_id=payload["update_id"], payload=payload, at=T0)
            assert await uow.updates.add_if_new(update)
        await uow.commit()
    return [
        Envelope(
            event_id=uuid4(),
            name="bot.update_received",
            occurred_at=T0,
            aggregate_type="bot_update",
            aggregate_id=str(uuid4()),
            actor_id=None,
            request_id=None,
            payload={"update_id": payload["update_id"]},
        )
        for payload in updates
    ]


def _handler(units: Units) -> HandleUpdate:
    return HandleUpdate(units(), FixedClock(T0), Uuid7Generator())


async def test_two_first_messages_of_a_chat_handled_at_once_share_one_thread(units: Units) -> None:
    first, second = await _stored(units, _update(1, 77, "hello"), _update(2, 77, "anyone there?"))

    await asyncio.gather(_handler(units)(first), _handler(units)(second))

    async with units() as uow:
        threads = await uow.threads.page(PageRequest())
        [thread] = threads.items
        texts = sorted(m.text for m in (await uow.messages.page(thread.id, PageRequest())).items)
    assert (thread.chat_id, texts) == (77, ["anyone there?", "hello"])


async def test_a_start_handled_after_the_later_stop_does_not_resubscribe(units: Units) -> None:
    start, stop = await _stored(units, _update(10, 5, "/start", message_id=3), _update(11, 5, "/stop", message_id=4))

    await _handler(units)(stop)
    await _handler(units)(start)  # late: another worker had it

    async with units() as uow:
        assert await uow.chats.subscribed() == []
        [thread] = (await uow.threads.page(PageRequest())).items
        assert (await uow.messages.page(thread.id, PageRequest())).total == 2


async def test_commands_follow_the_chats_message_order_when_update_ids_restart_lower(units: Units) -> None:
    """After a week without updates Telegram picks the next update_id at random: it may be
    lower than earlier ones, while message ids in a chat keep increasing."""
    stop, start = await _stored(units, _update(900, 6, "/stop", message_id=7), _update(5, 6, "/start", message_id=8))

    await _handler(units)(stop)
    await _handler(units)(start)

    async with units() as uow:
        assert await uow.chats.subscribed() == [6]
