"""Read the audit log: all of it (admins), or the entries about oneself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.identity.policy import AuditPolicy
from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.shared.audit import AuditFilters
from application.shared.authorization import Action, enforce
from domain.shared.audit import AuditEntry
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId
from domain.shared.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest

__all__ = ["ListAudit", "ListAuditCommand", "ListOwnAudit", "ListOwnAuditCommand"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAuditCommand:
    actor: Actor | None
    type: str | None = None
    user_id: UserId | None = None
    """Entries whose actor or subject is this account."""
    since: datetime | None = None
    """Inclusive; must carry its offset."""
    until: datetime | None = None
    """Exclusive; must carry its offset."""
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE


def _instant(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise InvalidValueError(name, "must be an RFC 3339 instant, with its offset")
    return value


class ListAudit:
    """A page of audit entries, newest first; admins only (403 for anyone else)."""

    def __init__(self, uow: IdentityUnitOfWork, policy: AuditPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def __call__(self, cmd: ListAuditCommand) -> Page[AuditEntry]:
        enforce(self._policy.decide(cmd.actor, Action.READ), cmd.actor, "read the audit log")
        filters = AuditFilters(
            type=cmd.type,
            user_id=cmd.user_id,
            since=_instant("since", cmd.since),
            until=_instant("until", cmd.until),
        )
        request = PageRequest(cmd.page, cmd.size)
        async with self._uow as uow:
            return await uow.audit_log.page(filters, request)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListOwnAuditCommand:
    actor: Actor
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE


class ListOwnAudit:
    """A page of the entries about the caller (its ``subject_id``), newest first."""

    def __init__(self, uow: IdentityUnitOfWork) -> None:
        self._uow = uow

    async def __call__(self, cmd: ListOwnAuditCommand) -> Page[AuditEntry]:
        request = PageRequest(cmd.page, cmd.size)
        async with self._uow as uow:
            return await uow.audit_log.page(AuditFilters(subject_id=cmd.actor.user_id), request)
