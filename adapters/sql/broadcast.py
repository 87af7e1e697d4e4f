"""SQL repositories of the broadcast context: campaigns, with the sender's lease (deliveries are in
``adapters.sql.deliveries``), and the context's unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update

from adapters.shared.unit_of_work import ContextUnitOfWork, repository
from adapters.sql.audit import SqlAuditLog
from adapters.sql.deliveries import SqlDeliveryRepository
from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.statements import status_is as _is
from adapters.sql.tables import campaigns
from adapters.sql.telegram_chats import SqlTelegramChatRepository
from application.broadcast.ports import BroadcastUnitOfWork, CampaignRepository
from domain.broadcast.campaign import Audience, Campaign, CampaignId, CampaignStatus
from domain.shared.errors import VersionMismatchError
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

__all__ = ["SqlBroadcastUnitOfWork", "SqlCampaignRepository", "SqlDeliveryRepository"]

_c = campaigns.c


_USER_FIELDS = (
    *("id", "name", "text", "audience", "status", "created_by", "version"),
    *("created_at", "updated_at", "started_at", "finished_at"),
)
_CHANGEABLE = ("name", "text", "audience", "status", "version", "updated_at", "started_at", "finished_at")

_BY_ID = Query(select(campaigns).where(_c.id == bindparam("id")))
_VERSION = Query(select(_c.version).where(_c.id == bindparam("id")))
_INSERT = Query(insert(campaigns).values({name: bindparam(name) for name in _USER_FIELDS}))
# Compare-and-set on the version; the lease columns are left alone.
_UPDATE = Query(
    update(campaigns)
    .where(_c.id == bindparam("key_id"), _c.version == bindparam("key_version"))
    .values({name: bindparam(f"new_{name}") for name in _CHANGEABLE})
)
_DELETE = Query(delete(campaigns).where(_c.id == bindparam("key_id"), _c.version == bindparam("key_version")))
_PAGE = Query(
    select(campaigns).order_by(_c.created_at.desc(), _c.id.desc()).limit(bindparam("limit")).offset(bindparam("offset"))
)
_COUNT = Query(select(func.count().label("total")).select_from(campaigns))

_LEASE_FREE = and_(
    _is(_c.status, CampaignStatus.RUNNING),
    or_(_c.sender_until.is_(None), _c.sender_until < bindparam("now")),
)


def _claim(dialect: str) -> Query:
    """One statement: pick the oldest started running campaign with a free or lapsed lease
    and take it. On PostgreSQL the pick is ``FOR UPDATE SKIP LOCKED``, so of two senders
    asking at once one takes it and the other passes over it; the outer condition repeats
    the pick's, so a row a concurrent claim took meanwhile is not taken again. SQLite runs
    one writer at a time, so its pick cannot race."""
    pick = select(_c.id).where(_LEASE_FREE).order_by(_c.started_at, _c.id).limit(1)
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    return Query(
        update(campaigns)
        .where(_c.id == pick.scalar_subquery(), _LEASE_FREE)
        .values(sender_token=bindparam("token"), sender_until=bindparam("until"))
        .returning(*campaigns.c)
    )


_CLAIM = {"postgresql": _claim("postgresql"), "sqlite": _claim("sqlite")}
_RENEW = Query(
    update(campaigns)
    .where(_c.id == bindparam("key_id"), _c.sender_token == bindparam("token"))
    .values(sender_until=bindparam("until"))
)
_RELEASE = Query(
    update(campaigns)
    .where(_c.id == bindparam("key_id"), _c.sender_token == bindparam("token"))
    .values(sender_token=None, sender_until=None)
)


_LIVE_SENDER = Query(
    select(_c.id).where(_c.id == bindparam("id"), _c.sender_until.is_not(None), _c.sender_until >= bindparam("now"))
)


def _campaign_row(campaign: Campaign) -> dict[str, Any]:
    return {name: getattr(campaign, name) for name in _USER_FIELDS}


def _campaign(row: Any) -> Campaign:
    fields = {name: row[name] for name in _USER_FIELDS}
    fields.update(
        id=CampaignId(row["id"]),
        audience=Audience(row["audience"]),
        status=CampaignStatus(row["status"]),
        created_by=UserId(row["created_by"]),
    )
    return Campaign(**fields)


class SqlCampaignRepository(CampaignRepository):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def add(self, campaign: Campaign) -> None:
        await self._db.write(_INSERT, _campaign_row(campaign))

    async def get(self, campaign_id: CampaignId) -> Campaign | None:
        row = (await self._db.read(_BY_ID, {"id": campaign_id})).first()
        return None if row is None else _campaign(row)

    async def save(self, campaign: Campaign) -> None:
        row = _campaign_row(campaign)
        changes = {f"new_{name}": row[name] for name in _CHANGEABLE}
        changes.update(key_id=campaign.id, key_version=campaign.version - 1)
        if (await self._db.write(_UPDATE, changes)).rowcount != 1:
            raise VersionMismatchError(expected=campaign.version - 1, actual=await self._stored_version(campaign.id))

    async def delete(self, campaign: Campaign) -> None:
        key = {"key_id": campaign.id, "key_version": campaign.version}
        if (await self._db.write(_DELETE, key)).rowcount != 1:
            raise VersionMismatchError(expected=campaign.version, actual=await self._stored_version(campaign.id))

    async def page(self, page: PageRequest) -> Page[Campaign]:
        rows = (await self._db.read(_PAGE, {"limit": page.size, "offset": page.offset})).rows
        if page.offset == 0 and len(rows) < page.size:
            total = len(rows)  # a short first page is everything
        else:
            total = int((await self._db.read(_COUNT)).rows[0]["total"])
        return Page(items=[_campaign(row) for row in rows], request=page, total=total)

    async def claim_sender(self, now: datetime, until: datetime, token: str) -> Campaign | None:
        parameters = {"now": now, "until": until, "token": token}
        row = (await self._db.write(_CLAIM[self._db.dialect], parameters)).first()
        return None if row is None else _campaign(row)

    async def renew_sender(self, campaign_id: CampaignId, token: str, until: datetime) -> bool:
        result = await self._db.write(_RENEW, {"key_id": campaign_id, "token": token, "until": until})
        return result.rowcount == 1

    async def release_sender(self, campaign_id: CampaignId, token: str) -> None:
        await self._db.write(_RELEASE, {"key_id": campaign_id, "token": token})

    async def announce(self, campaign: Campaign) -> None:
        pass  # the unit of work takes the campaign's events: see the port

    async def has_live_sender(self, campaign_id: CampaignId, now: datetime) -> bool:
        return (await self._db.read(_LIVE_SENDER, {"id": campaign_id, "now": now})).first() is not None

    async def _stored_version(self, campaign_id: CampaignId) -> int | None:
        row = (await self._db.read(_VERSION, {"id": campaign_id})).first()
        return None if row is None else int(row["version"])


class SqlBroadcastUnitOfWork(ContextUnitOfWork[SqlSession], BroadcastUnitOfWork):
    campaigns = repository(SqlCampaignRepository)
    deliveries = repository(SqlDeliveryRepository)
    chats = repository(SqlTelegramChatRepository)
    audit_log = repository(SqlAuditLog)
