"""``SqlDeliveryRepository``: one row per (campaign, chat), every move a compare-and-set on the status."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Text,
    Uuid,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from adapters.sql.errors import ConstraintErrors
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.statements import status_is as _is
from adapters.sql.tables import campaigns, deliveries
from application.broadcast.ports import DeliveryRepository
from application.errors import AlreadyExistsError
from domain.broadcast.campaign import CampaignId, CampaignStatus
from domain.broadcast.delivery import Delivery, DeliveryError, DeliveryStatus, Stats
from domain.shared.pagination import Page, PageRequest

__all__ = ["CHUNK", "SqlDeliveryRepository"]

CHUNK = 1000
"""Delivery rows per INSERT statement."""
_EARLIEST = datetime.min.replace(tzinfo=UTC)

_d = deliveries.c


_DUPLICATE = ConstraintErrors(deliveries, {"pk_deliveries": lambda: AlreadyExistsError("delivery", "chat_id")})
_NEW_ROW = (
    bindparam("campaign_id", type_=Uuid),
    literal(DeliveryStatus.PENDING.value),
    literal(0),
)
_NEW_COLUMNS = ["campaign_id", "status", "attempts", "chat_id"]
# A chunk of chat ids is one parameter: an array on PostgreSQL, a JSON array on SQLite.
_ADD_MANY = {
    "postgresql": Query(
        insert(deliveries).from_select(
            _NEW_COLUMNS, select(*_NEW_ROW, func.unnest(bindparam("chat_ids", type_=ARRAY(BigInteger))))
        )
    ),
    "sqlite": Query(
        insert(deliveries).from_select(
            _NEW_COLUMNS,
            select(*_NEW_ROW, literal_column("value", BigInteger)).select_from(
                func.json_each(bindparam("chat_ids", type_=Text))
            ),
        )
    ),
}
# Keys named apart from the columns: an UPDATE reserves the column names for its SET clause.
_OF_CAMPAIGN = _d.campaign_id == bindparam("key_campaign")
_ONE = and_(_OF_CAMPAIGN, _d.chat_id == bindparam("key_chat"))
_DELIVERY_PAGE = Query(
    select(deliveries).where(_OF_CAMPAIGN).order_by(_d.chat_id).limit(bindparam("limit")).offset(bindparam("offset"))
)
_COUNT_BY_OUTCOME = Query(select(_d.status, _d.error, func.count().label("count")).group_by(_d.status, _d.error))
_DELIVERY_COUNT = Query(select(func.count().label("total")).select_from(deliveries).where(_OF_CAMPAIGN))
_DUE = Query(
    select(deliveries)
    .where(
        _OF_CAMPAIGN,
        _is(_d.status, DeliveryStatus.PENDING),
        or_(_d.next_attempt_at.is_(None), _d.next_attempt_at <= bindparam("now")),
    )
    .order_by(_d.attempts, _d.chat_id)
    .limit(bindparam("limit"))
)


def _move(source: DeliveryStatus, *, one: bool = True, **values: Any) -> Query:
    """Compare-and-set on the status: rows of the campaign (or the one chat) in ``source``."""
    return Query(update(deliveries).where(_ONE if one else _OF_CAMPAIGN, _is(_d.status, source)).values(**values))


_SENDING, _PENDING = DeliveryStatus.SENDING, DeliveryStatus.PENDING
# Only under the sender's own lease, unlapsed: one statement, so no window between the
# lease check and the claim. On PostgreSQL the lease row is read FOR SHARE: a takeover being
# committed at that moment is waited for and its new token seen (a plain EXISTS would read
# the statement's snapshot and claim under a lease just lost). SQLite runs one writer at a
# time and renders no locking clause.
_CLAIM_ONE = Query(
    update(deliveries)
    .where(
        _ONE,
        _is(_d.status, _PENDING),
        select(literal(1))
        .where(
            campaigns.c.id == bindparam("key_campaign"),
            campaigns.c.sender_token == bindparam("token"),
            campaigns.c.sender_until >= bindparam("now"),
        )
        .with_for_update(read=True)
        .exists(),
    )
    .values(status=_SENDING.value, attempts=_d.attempts + 1)
)
_SENT = _move(_SENDING, status=DeliveryStatus.SENT.value, sent_at=bindparam("at"), error=None)
_FAILED = _move(_SENDING, status=DeliveryStatus.FAILED.value, error=bindparam("error"))
_RETRY = _move(_SENDING, status=_PENDING.value, next_attempt_at=bindparam("at"))
_FAIL_IN_FLIGHT = _move(
    _SENDING, one=False, status=DeliveryStatus.FAILED.value, error=DeliveryError.UNKNOWN_OUTCOME.value
)
_STRANDED = Query(
    select(campaigns.c.id).where(
        campaigns.c.status == CampaignStatus.CANCELLED.value,
        or_(campaigns.c.sender_until.is_(None), campaigns.c.sender_until < bindparam("now")),
        exists().where(
            _d.campaign_id == campaigns.c.id, _d.status.in_([literal_column(f"'{s}'") for s in (_SENDING, _PENDING)])
        ),
    )
)
_CANCEL = _move(_PENDING, one=False, status=DeliveryStatus.FAILED.value, error=DeliveryError.CANCELLED.value)
_PENDING_ROWS = and_(_OF_CAMPAIGN, _is(_d.status, _PENDING))
# Two index probes in one round trip: the earliest retry time, and whether a never-delayed
# pending row (due at once) exists.
_NEXT_DUE = Query(
    select(
        select(func.min(_d.next_attempt_at)).where(_PENDING_ROWS).scalar_subquery().label("earliest"),
        select(_d.chat_id).where(_PENDING_ROWS, _d.next_attempt_at.is_(None)).limit(1).exists().label("now"),
    )
)
_UNFINISHED = Query(
    select(func.count().label("total"))
    .select_from(deliveries)
    .where(_OF_CAMPAIGN, _d.status.in_([literal_column(f"'{s}'") for s in (_PENDING, _SENDING)]))
)


def _delivery(row: Any) -> Delivery:
    error = row["error"]
    return Delivery(
        campaign_id=CampaignId(row["campaign_id"]),
        chat_id=int(row["chat_id"]),
        status=DeliveryStatus(row["status"]),
        attempts=int(row["attempts"]),
        error=None if error is None else DeliveryError(error),
        sent_at=row["sent_at"],
        next_attempt_at=row["next_attempt_at"],
    )


class SqlDeliveryRepository(DeliveryRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add_many(self, campaign_id: CampaignId, chat_ids: Sequence[int]) -> None:
        statement = _ADD_MANY[self._db.dialect]
        for start in range(0, len(chat_ids), CHUNK):
            chunk: Any = list(chat_ids[start : start + CHUNK])
            if self._db.dialect != "postgresql":
                chunk = json.dumps(chunk)
            await self._db.write(statement, {"campaign_id": campaign_id, "chat_ids": chunk}, errors=_DUPLICATE)

    async def stats(self, campaign_ids: Sequence[CampaignId]) -> dict[CampaignId, Stats]:
        counts: dict[CampaignId, dict[str, int]] = {campaign_id: {} for campaign_id in campaign_ids}
        if counts:
            # A list parameter (IN) is built per call; a Query cannot expand it.
            statement = (
                select(_d.campaign_id, _d.status, func.count().label("count"))
                .where(_d.campaign_id.in_(list(counts)))
                .group_by(_d.campaign_id, _d.status)
            )
            for row in (await self._db.read(statement)).rows:
                counts[CampaignId(row["campaign_id"])][row["status"]] = int(row["count"])
        return {campaign_id: Stats.count(by_status) for campaign_id, by_status in counts.items()}

    async def count_by_outcome(self) -> dict[tuple[DeliveryStatus, DeliveryError | None], int]:
        rows = (await self._db.read(_COUNT_BY_OUTCOME)).rows
        return {
            (DeliveryStatus(row["status"]), None if row["error"] is None else DeliveryError(row["error"])): int(
                row["count"]
            )
            for row in rows
        }

    async def page(self, campaign_id: CampaignId, page: PageRequest) -> Page[Delivery]:
        key = {"key_campaign": campaign_id}
        rows = (await self._db.read(_DELIVERY_PAGE, {**key, "limit": page.size, "offset": page.offset})).rows
        if page.offset == 0 and len(rows) < page.size:
            total = len(rows)  # a short first page is everything
        else:
            total = int((await self._db.read(_DELIVERY_COUNT, key)).rows[0]["total"])
        return Page(items=[_delivery(row) for row in rows], request=page, total=total)

    async def due(self, campaign_id: CampaignId, now: datetime, limit: int) -> builtins.list[Delivery]:
        rows = (await self._db.read(_DUE, {"key_campaign": campaign_id, "now": now, "limit": limit})).rows
        return [_delivery(row) for row in rows]

    async def claim(self, campaign_id: CampaignId, chat_id: int, token: str, now: datetime) -> bool:
        return await self._one(_CLAIM_ONE, campaign_id, chat_id, token=token, now=now)

    async def mark_sent(self, campaign_id: CampaignId, chat_id: int, at: datetime) -> None:
        await self._one(_SENT, campaign_id, chat_id, at=at)

    async def mark_failed(self, campaign_id: CampaignId, chat_id: int, error: DeliveryError) -> None:
        await self._one(_FAILED, campaign_id, chat_id, error=error.value)

    async def retry_at(self, campaign_id: CampaignId, chat_id: int, at: datetime) -> None:
        await self._one(_RETRY, campaign_id, chat_id, at=at)

    async def fail_in_flight(self, campaign_id: CampaignId) -> int:
        return (await self._db.write(_FAIL_IN_FLIGHT, {"key_campaign": campaign_id})).rowcount

    async def stranded(self, now: datetime) -> builtins.list[CampaignId]:
        rows = (await self._db.read(_STRANDED, {"now": now})).rows
        return [CampaignId(row["id"]) for row in rows]

    async def cancel_pending(self, campaign_id: CampaignId) -> int:
        return (await self._db.write(_CANCEL, {"key_campaign": campaign_id})).rowcount

    async def next_due_at(self, campaign_id: CampaignId) -> datetime | None:
        """A pending delivery never put off (no ``next_attempt_at``) is due at once: the
        answer is then the earliest instant (``datetime.min``, UTC)."""
        row = (await self._db.read(_NEXT_DUE, {"key_campaign": campaign_id})).rows[0]
        return _EARLIEST if row["now"] else row["earliest"]

    async def unfinished(self, campaign_id: CampaignId) -> int:
        return int((await self._db.read(_UNFINISHED, {"key_campaign": campaign_id})).rows[0]["total"])

    async def _one(self, move: Query, campaign_id: CampaignId, chat_id: int, **values: Any) -> bool:
        result = await self._db.write(move, {"key_campaign": campaign_id, "key_chat": chat_id, **values})
        return result.rowcount == 1
