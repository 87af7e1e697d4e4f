"""The telegram chat, update, thread and message repositories' contract on every implementation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.broadcast import InMemoryBroadcastUnitOfWork
from adapters.memory.chat import InMemoryChatUnitOfWork
from adapters.sql.broadcast import SqlBroadcastUnitOfWork
from adapters.sql.chat import SqlChatUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.shared.audit import AuditFilters
from domain.broadcast.campaign import CampaignId
from domain.chat.chat import Message, MessageId, MessageStatus, Thread, ThreadId, WebhookUpdate
from domain.shared.pagination import PageRequest
from tests.integration.conftest import UowFactory
from tests.support.builders import T0
from tests.support.units import sql_unit


def a_thread(chat_id: int, *, minutes: int = 0, title: str = "Ada") -> Thread:
    return Thread(
        id=ThreadId(uuid4()),
        chat_id=chat_id,
        title=title,
        last_message_at=T0 + timedelta(minutes=minutes),
        blocked=False,
    )


def an_update(update_id: int, text: str = "/start") -> WebhookUpdate:
    payload = {"update_id": update_id, "message": {"chat": {"id": 42}, "text": text, "extra": [1, None, "ü"]}}
    return WebhookUpdate.receive(record_id=uuid4(), update_id=update_id, payload=payload, at=T0)


def fields(message: Message | None) -> tuple[Any, ...] | None:
    if message is None:
        return None
    return tuple(getattr(message, name) for name in Message.__dataclass_fields__ if name != "events")


async def test_chats_subscribe_unsubscribe_and_block(new_uow: UowFactory) -> None:
    async with new_uow() as uow:
        chats = uow.chats
        for chat in (3, -5, 1, 2):
            await chats.subscribe(chat, T0, message_id=1)
        await chats.subscribe(1, T0, message_id=2)  # idempotent
        await chats.unsubscribe(2, T0, message_id=3)
        await chats.unsubscribe(7, T0, message_id=4)  # a chat never seen
        await chats.mark_blocked(3, T0)
        await chats.mark_blocked(8, T0)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.chats.subscribed() == [-5, 1]
        assert await uow.chats.count_subscribed() == 2
        assert await uow.chats.blocked([1, 2, 3, 7, 8, 9]) == {3, 8}
        assert await uow.chats.blocked([]) == set()
        await uow.chats.unsubscribe(3, T0, message_id=5)  # stays blocked
        await uow.chats.subscribe(8, T0, message_id=6)  # /start unblocks
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.chats.blocked([3, 8]) == {3}
        assert await uow.chats.subscribed() == [-5, 1, 8]


async def test_commands_apply_in_message_order_whatever_order_they_are_handled_in(new_uow: UowFactory) -> None:
    async with new_uow() as uow:
        await uow.chats.unsubscribe(1, T0, message_id=20)  # /stop handled first
        await uow.chats.subscribe(1, T0, message_id=10)  # the /start before it, handled late: no effect
        await uow.chats.subscribe(2, T0, message_id=30)
        await uow.chats.unsubscribe(2, T0, message_id=30)  # the same message_id again: no effect
        await uow.chats.subscribe(3, T0, message_id=5)
        await uow.chats.mark_blocked(3, T0)  # no command: applies
        await uow.chats.subscribe(3, T0, message_id=4)  # older than the last command: stays blocked
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.chats.subscribed() == [2]
        assert await uow.chats.blocked([1, 2, 3]) == {3}
        await uow.chats.subscribe(3, T0, message_id=6)  # a newer /start unblocks
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.chats.subscribed() == [2, 3]
        assert await uow.chats.blocked([3]) == set()


async def test_an_update_is_stored_once_per_update_id(new_uow: UowFactory) -> None:
    first, repeat = an_update(2**40), an_update(2**40, text="again")
    async with new_uow() as uow:
        assert await uow.updates.add_if_new(first) is True
        assert await uow.updates.add_if_new(repeat) is False
        await uow.chats.subscribe(42, T0, message_id=1)  # the unit of work goes on after the repeat
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.updates.add_if_new(an_update(2**40)) is False
        await uow.commit()
    async with new_uow() as uow:
        stored = await uow.updates.get(2**40)
        assert await uow.updates.get(1) is None
        assert await uow.chats.subscribed() == [42]
    assert stored is not None
    assert (stored.id, stored.payload, stored.received_at) == (first.id, first.payload, T0)


async def test_a_repeated_update_leaves_the_postgresql_transaction_usable(pg_engine: AsyncEngine) -> None:
    async with sql_unit(pg_engine) as uow:
        assert await uow.updates.add_if_new(an_update(1))
        await uow.commit()
    async with sql_unit(pg_engine) as uow:
        assert await uow.updates.add_if_new(an_update(1)) is False
        assert await uow.updates.add_if_new(an_update(2)) is True
        await uow.commit()
    async with sql_unit(pg_engine) as uow:
        assert await uow.updates.get(2) is not None


async def touch(uow: Any, thread: Thread) -> ThreadId:
    thread_id: ThreadId = await uow.threads.touch(thread.chat_id, thread.title, thread.last_message_at, thread.id)
    return thread_id


async def test_one_thread_per_chat_keeps_its_id_moves_forward_and_reads_blocked_from_the_chat(
    new_uow: UowFactory,
) -> None:
    thread = a_thread(42)
    async with new_uow() as uow:
        assert await touch(uow, thread) == thread.id
        assert await touch(uow, a_thread(42, minutes=5, title="Ada L.")) == thread.id  # the stored id stays
        await uow.chats.mark_blocked(42, T0)
        await uow.commit()
    async with new_uow() as uow:  # a message handled late: retitles, never moves the time back
        assert await touch(uow, a_thread(42, minutes=2, title="Ada Lovelace")) == thread.id
        await uow.commit()
    async with new_uow() as uow:
        by_chat, by_id = await uow.threads.by_chat(42), await uow.threads.get(thread.id)
        missing = (await uow.threads.by_chat(43), await uow.threads.get(ThreadId(uuid4())))
        await uow.chats.subscribe(42, T0, message_id=1)
        await uow.commit()
    expected = Thread(
        id=thread.id, chat_id=42, title="Ada Lovelace", last_message_at=T0 + timedelta(minutes=5), blocked=True
    )
    assert by_chat == by_id == expected
    assert missing == (None, None)
    async with new_uow() as uow:
        unblocked = await uow.threads.get(thread.id)
    assert unblocked is not None and unblocked.blocked is False


async def test_threads_page_most_recent_message_first(new_uow: UowFactory) -> None:
    threads = [a_thread(chat, minutes=minutes) for chat, minutes in ((1, 3), (2, 1), (3, 3), (4, 2))]
    async with new_uow() as uow:
        for thread in threads:
            await touch(uow, thread)
        await uow.chats.mark_blocked(4, T0)
        await uow.commit()
    async with new_uow() as uow:
        first = await uow.threads.page(PageRequest(page=1, size=3))
        second = await uow.threads.page(PageRequest(page=2, size=3))
    expected = sorted(threads, key=lambda t: (t.last_message_at, t.id), reverse=True)
    assert [t.id for t in [*first.items, *second.items]] == [t.id for t in expected]
    assert [t.blocked for t in first.items] == [False, False, True]
    assert first.total == second.total == 4


async def test_messages_read_back_newest_first_and_move_by_compare_and_set(new_uow: UowFactory) -> None:
    thread, other = a_thread(42), a_thread(43)
    received = [
        Message.received(message_id=MessageId(uuid4()), thread_id=thread.id, text=f"m{i}", at=T0 + timedelta(minutes=i))
        for i in (0, 2, 1)
    ]
    reply = Message.reply(message_id=MessageId(uuid4()), thread=thread, text="Hi!", at=T0 + timedelta(minutes=3))
    failing = Message.reply(message_id=MessageId(uuid4()), thread=other, text="Hello", at=T0)
    async with new_uow() as uow:
        await touch(uow, thread)
        await touch(uow, other)
        for message in (*received, reply, failing):
            await uow.messages.add(message)
        await uow.commit()
    async with new_uow() as uow:
        assert fields(await uow.messages.get(reply.id)) == fields(reply)
        assert await uow.messages.get(MessageId(uuid4())) is None
        page = await uow.messages.page(thread.id, PageRequest(size=3))
        assert await uow.messages.claim(received[0].id) is False  # received, not pending
        await uow.messages.finish(reply.id, sent_at=T0, error=None)  # pending, not sending: no effect
        await uow.messages.release(reply.id)  # likewise
        assert [await uow.messages.claim(m.id) for m in (reply, reply, failing)] == [True, False, True]
        await uow.messages.release(reply.id)  # provably not sent: pending again
        assert await uow.messages.claim(reply.id) is True
        await uow.messages.finish(reply.id, sent_at=T0 + timedelta(minutes=4), error=None)
        await uow.messages.finish(failing.id, sent_at=None, error="blocked")
        await uow.messages.finish(failing.id, sent_at=T0, error=None)  # ended already
        await uow.commit()
    assert [m.text for m in page.items] == ["Hi!", "m2", "m1"] and page.total == 4
    async with new_uow() as uow:
        sent, failed = await uow.messages.get(reply.id), await uow.messages.get(failing.id)
    assert sent is not None and (sent.status, sent.sent_at, sent.error) == (
        MessageStatus.SENT,
        T0 + timedelta(minutes=4),
        None,
    )
    assert failed is not None and (failed.status, failed.sent_at, failed.error) == (
        MessageStatus.FAILED,
        None,
        "blocked",
    )


async def test_the_context_units_of_work_share_the_chats_and_hand_out_every_repository(new_uow: UowFactory) -> None:
    transaction = new_uow()._transaction
    sql = isinstance(transaction, SqlUnitOfWork)
    chat = (SqlChatUnitOfWork if sql else InMemoryChatUnitOfWork)(transaction)
    broadcast = (SqlBroadcastUnitOfWork if sql else InMemoryBroadcastUnitOfWork)(transaction)
    async with chat:
        await chat.chats.subscribe(1, T0, message_id=1)
        assert await chat.updates.get(1) is None
        assert (await chat.threads.page(PageRequest())).total == 0
        assert await chat.messages.get(MessageId(uuid4())) is None
        assert await chat.backlog.queued() == 0
        await chat.commit()
    async with broadcast:
        assert await broadcast.chats.subscribed() == [1]
        assert (await broadcast.campaigns.page(PageRequest())).total == 0
        assert await broadcast.deliveries.unfinished(CampaignId(uuid4())) == 0
        assert (await broadcast.audit_log.page(AuditFilters(), PageRequest())).total == 0
