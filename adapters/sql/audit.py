"""SQL repository of the audit log."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, insert, or_, select

from adapters.sql.session import SqlSession
from adapters.sql.statements import Query
from adapters.sql.tables import audit_log
from application.shared.audit import AuditFilters, AuditLog
from domain.shared.audit import AuditEntry, AuditEntryId
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

__all__ = ["SqlAuditLog"]

_INSERT = Query(insert(audit_log).values({c.name: bindparam(c.name) for c in audit_log.c}))


def _entry(row: Any) -> AuditEntry:
    actor, subject = row["actor_id"], row["subject_id"]
    return AuditEntry(
        id=AuditEntryId(row["id"]),
        at=row["at"],
        type=row["type"],
        actor_id=None if actor is None else UserId(actor),
        subject_id=None if subject is None else UserId(subject),
        ip=row["ip"],
        user_agent=row["user_agent"],
        detail=json.loads(row["detail"]),
    )


def _conditions(filters: AuditFilters) -> list[ColumnElement[bool]]:
    c = audit_log.c
    conditions: list[ColumnElement[bool]] = []
    if filters.type is not None:
        conditions.append(c.type == filters.type)
    if filters.user_id is not None:
        conditions.append(or_(c.actor_id == filters.user_id, c.subject_id == filters.user_id))
    if filters.subject_id is not None:
        conditions.append(c.subject_id == filters.subject_id)
    if filters.since is not None:
        conditions.append(c.at >= filters.since)
    if filters.until is not None:
        conditions.append(c.at < filters.until)
    return conditions


def _matching(statement: Select[Any], filters: AuditFilters) -> Select[Any]:
    conditions = _conditions(filters)
    return statement.where(and_(*conditions)) if conditions else statement


class SqlAuditLog(AuditLog):
    def __init__(self, session: SqlSession) -> None:
        self._db = session

    async def record(self, entry: AuditEntry) -> None:
        await self._db.write(
            _INSERT,
            {
                "id": entry.id,
                "at": entry.at,
                "type": entry.type,
                "actor_id": entry.actor_id,
                "subject_id": entry.subject_id,
                "ip": entry.ip,
                "user_agent": entry.user_agent,
                "detail": json.dumps(dict(entry.detail), sort_keys=True),
            },
        )

    async def page(self, filters: AuditFilters, page: PageRequest) -> Page[AuditEntry]:
        listing = (
            _matching(select(audit_log), filters)
            .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(page.size)
            .offset(page.offset)
        )
        rows = (await self._db.read(listing)).rows
        if page.offset == 0 and len(rows) < page.size:
            total = len(rows)  # a short first page is everything
        else:
            count = _matching(select(func.count().label("total")).select_from(audit_log), filters)
            total = int((await self._db.read(count)).rows[0]["total"])
        return Page(items=[_entry(row) for row in rows], request=page, total=total)
