"""``/api/v1/audit`` (admin) and ``/api/v1/users/me/audit`` (the caller's own entries)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from application.identity.list_audit import ListAudit, ListAuditCommand, ListOwnAudit, ListOwnAuditCommand
from application.shared.actor import Actor
from domain.shared.ids import UserId
from entrypoints.http.audit.schemas import AuditPage
from entrypoints.http.auth import BEARER_SECURITY
from entrypoints.http.pages import PageNumber, PageSize
from entrypoints.http.problems import problem_responses

__all__ = ["AuditController"]

_LIST = """Newest first. `?type=` keeps one type (`login.failed`); `?user_id=` the entries
whose actor or subject is that account; `since` (inclusive) and `until` (exclusive) are
RFC 3339 instants. Entries are kept `PORTSIDE_AUDIT_RETENTION_DAYS` (365 by default).
Admins only."""

_MINE = """The entries whose subject is the caller (logins, sessions, password and account
changes), newest first."""


class AuditController(Controller):
    path = "/"
    tags = ["audit"]
    security = BEARER_SECURITY

    @get("/audit", summary="Read the audit log", description=_LIST, responses=problem_responses(401, 403, 422))
    @inject
    async def list_audit(
        self,
        actor: FromDishka[Actor],
        list_audit: FromDishka[ListAudit],
        type: Annotated[str | None, QueryParameter(max_length=64)] = None,
        user_id: FromQuery[UUID | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> AuditPage:
        command = ListAuditCommand(
            actor=actor,
            type=type,
            user_id=None if user_id is None else UserId(user_id),
            since=since,
            until=until,
            page=page,
            size=size,
        )
        return AuditPage.of(await list_audit(command))

    @get(
        "/users/me/audit",
        summary="Read my security events",
        description=_MINE,
        responses=problem_responses(401, 422),
    )
    @inject
    async def list_own_audit(
        self,
        actor: FromDishka[Actor],
        list_own: FromDishka[ListOwnAudit],
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> AuditPage:
        return AuditPage.of(await list_own(ListOwnAuditCommand(actor=actor, page=page, size=size)))
