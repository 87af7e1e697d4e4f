"""``SqlTelegramChatRepository``: the chats the bot knows, one row each, written by upserts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert as upsert

from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import telegram_chats
from application.telegram.ports import TelegramChatRepository

__all__ = ["SqlTelegramChatRepository"]

_c = telegram_chats.c


def _upsert(*, subscribed: bool, blocked: bool | None, command: bool) -> Query:
    """Insert the chat or change the existing row; ``blocked=None`` leaves a stored row's flag
    as it is (a new row is not blocked). A ``command`` (``/start``, ``/stop``) carries its
    message's ``message_id`` and changes a stored row only when it is newer than the last command
    applied. ON CONFLICT DO UPDATE ... WHERE compiles for both dialects."""
    inserted = upsert(telegram_chats).values(
        chat_id=bindparam("chat_id"),
        subscribed=subscribed,
        blocked=bool(blocked),
        updated_at=bindparam("at"),
        command_message_id=bindparam("message_id") if command else None,
    )
    changes = {"subscribed": inserted.excluded.subscribed, "updated_at": inserted.excluded.updated_at}
    if blocked is not None:
        changes["blocked"] = inserted.excluded.blocked
    if not command:
        return Query(inserted.on_conflict_do_update(index_elements=[_c.chat_id], set_=changes))
    changes["command_message_id"] = inserted.excluded.command_message_id
    newer = or_(_c.command_message_id.is_(None), _c.command_message_id < inserted.excluded.command_message_id)
    return Query(inserted.on_conflict_do_update(index_elements=[_c.chat_id], set_=changes, where=newer))


_SUBSCRIBE = _upsert(subscribed=True, blocked=False, command=True)
_UNSUBSCRIBE = _upsert(subscribed=False, blocked=None, command=True)
_BLOCK = _upsert(subscribed=False, blocked=True, command=False)
# ``= true`` as the partial index ix_telegram_chats_subscribed says it, so it serves both.
_SUBSCRIBED = Query(select(_c.chat_id).where(_c.subscribed == true()).order_by(_c.chat_id))
_COUNT = Query(select(func.count().label("total")).select_from(telegram_chats).where(_c.subscribed == true()))


class SqlTelegramChatRepository(TelegramChatRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def subscribe(self, chat_id: int, at: datetime, message_id: int) -> None:
        await self._db.write(_SUBSCRIBE, {"chat_id": chat_id, "at": at, "message_id": message_id})

    async def unsubscribe(self, chat_id: int, at: datetime, message_id: int) -> None:
        await self._db.write(_UNSUBSCRIBE, {"chat_id": chat_id, "at": at, "message_id": message_id})

    async def mark_blocked(self, chat_id: int, at: datetime) -> None:
        await self._db.write(_BLOCK, {"chat_id": chat_id, "at": at})

    async def subscribed(self) -> list[int]:
        return [int(row["chat_id"]) for row in (await self._db.read(_SUBSCRIBED)).rows]

    async def count_subscribed(self) -> int:
        return int((await self._db.read(_COUNT)).rows[0]["total"])

    async def blocked(self, chat_ids: list[int]) -> set[int]:
        if not chat_ids:
            return set()
        # A list parameter (IN) is built per call; a Query cannot expand it.
        statement = select(_c.chat_id).where(_c.chat_id.in_(chat_ids), _c.blocked == true())
        return {int(row["chat_id"]) for row in (await self._db.read(statement)).rows}
