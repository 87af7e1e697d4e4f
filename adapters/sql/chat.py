"""SQL repositories of the chat context: webhook updates, threads and their messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, false, func, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as upsert

from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.job_backlog import SqlJobBacklog
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import bot_updates, chat_messages, chat_threads, telegram_chats
from adapters.sql.telegram_chats import SqlTelegramChatRepository
from application.chat.ports import ChatUnitOfWork, MessageRepository, ThreadRepository, UpdateRepository
from domain.chat.chat import Direction, Message, MessageId, MessageStatus, Thread, ThreadId, WebhookUpdate
from domain.shared.pagination import Page, PageRequest

__all__ = ["SqlChatUnitOfWork", "SqlMessageRepository", "SqlThreadRepository", "SqlUpdateRepository"]

_u, _t, _m = bot_updates.c, chat_threads.c, chat_messages.c

# ON CONFLICT DO NOTHING compiles for PostgreSQL and SQLite alike; a repeat changes no row
# and, unlike a violated constraint, leaves a PostgreSQL transaction usable.
_UPDATE_INSERT = Query(
    upsert(bot_updates)
    .values({c.name: bindparam(c.name) for c in bot_updates.c})
    .on_conflict_do_nothing(index_elements=[_u.update_id])
)
_UPDATE_BY_ID = Query(select(bot_updates).where(_u.update_id == bindparam("update_id")))


def _update(row: Any) -> WebhookUpdate:
    return WebhookUpdate(
        id=row["id"],
        update_id=int(row["update_id"]),
        payload=json.loads(row["payload"]),
        received_at=row["received_at"],
    )


class SqlUpdateRepository(UpdateRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add_if_new(self, update: WebhookUpdate) -> bool:
        row = {
            "id": update.id,
            "update_id": update.update_id,
            "payload": json.dumps(update.payload, ensure_ascii=False),
            "received_at": update.received_at,
        }
        return (await self._db.write(_UPDATE_INSERT, row)).rowcount == 1

    async def get(self, update_id: int) -> WebhookUpdate | None:
        row = (await self._db.read(_UPDATE_BY_ID, {"update_id": update_id})).first()
        return None if row is None else _update(row)


_THREAD = select(*chat_threads.c, func.coalesce(telegram_chats.c.blocked, false()).label("blocked")).select_from(
    chat_threads.outerjoin(telegram_chats, telegram_chats.c.chat_id == _t.chat_id)
)
_THREAD_BY_ID = Query(_THREAD.where(_t.id == bindparam("id")))
_THREAD_BY_CHAT = Query(_THREAD.where(_t.chat_id == bindparam("chat_id")))
_THREAD_PAGE = Query(
    _THREAD.order_by(_t.last_message_at.desc(), _t.id.desc()).limit(bindparam("limit")).offset(bindparam("offset"))
)
_THREAD_COUNT = Query(select(func.count().label("total")).select_from(chat_threads))
# One thread per chat: a touch of a chat that has one retitles it and moves its time
# forward; the stored id stays, and is returned either way.
_THREAD_NEW = upsert(chat_threads).values({c.name: bindparam(c.name) for c in chat_threads.c})
_THREAD_TOUCH = Query(
    _THREAD_NEW.on_conflict_do_update(
        index_elements=[_t.chat_id],
        set_={
            "title": _THREAD_NEW.excluded.title,
            "last_message_at": case(
                (_THREAD_NEW.excluded.last_message_at > _t.last_message_at, _THREAD_NEW.excluded.last_message_at),
                else_=_t.last_message_at,
            ),
        },
    ).returning(_t.id)
)


def _thread(row: Any) -> Thread:
    return Thread(
        id=ThreadId(row["id"]),
        chat_id=int(row["chat_id"]),
        title=row["title"],
        last_message_at=row["last_message_at"],
        blocked=bool(row["blocked"]),
    )


class SqlThreadRepository(ThreadRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def by_chat(self, chat_id: int) -> Thread | None:
        row = (await self._db.read(_THREAD_BY_CHAT, {"chat_id": chat_id})).first()
        return None if row is None else _thread(row)

    async def get(self, thread_id: ThreadId) -> Thread | None:
        row = (await self._db.read(_THREAD_BY_ID, {"id": thread_id})).first()
        return None if row is None else _thread(row)

    async def touch(self, chat_id: int, title: str, at: datetime, new_id: ThreadId) -> ThreadId:
        row = {"id": new_id, "chat_id": chat_id, "title": title, "last_message_at": at}
        return ThreadId((await self._db.write(_THREAD_TOUCH, row)).rows[0]["id"])

    async def page(self, page: PageRequest) -> Page[Thread]:
        rows = (await self._db.read(_THREAD_PAGE, {"limit": page.size, "offset": page.offset})).rows
        if page.offset == 0 and len(rows) < page.size:
            total = len(rows)  # a short first page is everything
        else:
            total = int((await self._db.read(_THREAD_COUNT)).rows[0]["total"])
        return Page(items=[_thread(row) for row in rows], request=page, total=total)


_MESSAGE_FIELDS = tuple(c.name for c in chat_messages.c)
_MESSAGE_INSERT = Query(insert(chat_messages).values({name: bindparam(name) for name in _MESSAGE_FIELDS}))
_MESSAGE_BY_ID = Query(select(chat_messages).where(_m.id == bindparam("id")))
_OF_THREAD = _m.thread_id == bindparam("thread_id")
_MESSAGE_PAGE = Query(
    select(chat_messages)
    .where(_OF_THREAD)
    .order_by(_m.created_at.desc(), _m.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_MESSAGE_COUNT = Query(select(func.count().label("total")).select_from(chat_messages).where(_OF_THREAD))


def _from(status: MessageStatus) -> Any:
    """Compare-and-set on the status (a literal, as the deliveries' moves)."""
    return update(chat_messages).where(_m.id == bindparam("key_id"), _m.status == literal_column(f"'{status}'"))


_MESSAGE_CLAIM = Query(_from(MessageStatus.PENDING).values(status=MessageStatus.SENDING.value))
_MESSAGE_SENT = Query(_from(MessageStatus.SENDING).values(status=MessageStatus.SENT.value, sent_at=bindparam("at")))
_MESSAGE_RELEASE = Query(_from(MessageStatus.SENDING).values(status=MessageStatus.PENDING.value))
_MESSAGE_FAILED = Query(
    _from(MessageStatus.SENDING).values(status=MessageStatus.FAILED.value, error=bindparam("error"))
)


def _message(row: Any) -> Message:
    return Message(
        id=MessageId(row["id"]),
        thread_id=ThreadId(row["thread_id"]),
        direction=Direction(row["direction"]),
        text=row["text"],
        status=MessageStatus(row["status"]),
        error=row["error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )


class SqlMessageRepository(MessageRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, message: Message) -> None:
        row = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
        await self._db.write(_MESSAGE_INSERT, row)

    async def get(self, message_id: MessageId) -> Message | None:
        row = (await self._db.read(_MESSAGE_BY_ID, {"id": message_id})).first()
        return None if row is None else _message(row)

    async def page(self, thread_id: ThreadId, page: PageRequest) -> Page[Message]:
        key = {"thread_id": thread_id}
        rows = (await self._db.read(_MESSAGE_PAGE, {**key, "limit": page.size, "offset": page.offset})).rows
        if page.offset == 0 and len(rows) < page.size:
            total = len(rows)  # a short first page is everything
        else:
            total = int((await self._db.read(_MESSAGE_COUNT, key)).rows[0]["total"])
        return Page(items=[_message(row) for row in rows], request=page, total=total)

    async def claim(self, message_id: MessageId) -> bool:
        return (await self._db.write(_MESSAGE_CLAIM, {"key_id": message_id})).rowcount == 1

    async def finish(self, message_id: MessageId, *, sent_at: datetime | None, error: str | None) -> None:
        if sent_at is not None:
            await self._db.write(_MESSAGE_SENT, {"key_id": message_id, "at": sent_at})
        else:
            await self._db.write(_MESSAGE_FAILED, {"key_id": message_id, "error": error})

    async def release(self, message_id: MessageId) -> None:
        await self._db.write(_MESSAGE_RELEASE, {"key_id": message_id})


class SqlChatUnitOfWork(ContextUnitOfWork[SqlSession], ChatUnitOfWork):
    updates = repository(SqlUpdateRepository)
    threads = repository(SqlThreadRepository)
    messages = repository(SqlMessageRepository)
    chats = repository(SqlTelegramChatRepository)
    backlog = repository(SqlJobBacklog)
