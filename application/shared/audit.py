"""The audit log: its port (``AuditLog``, ``AuditFilters``) and ``Audit``, which builds the
entries of one request (or job) for use-cases to record in the unit of work that makes the
change they describe, before its ``commit()``."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.shared.events import Provenance
from application.shared.ports import Clock, IdGenerator
from domain.shared.audit import AuditDetail, AuditEntry, AuditEntryId
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

__all__ = ["Audit", "AuditFilters", "AuditLog"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFilters:
    """Which entries to list: all of them when every field is ``None``."""

    type: str | None = None
    user_id: UserId | None = None
    """Entries whose actor or subject is this account."""
    subject_id: UserId | None = None
    """Entries about this account only."""
    since: datetime | None = None
    """Inclusive."""
    until: datetime | None = None
    """Exclusive."""


class AuditLog(Protocol):
    """The audit log: written in the transaction of the change it records, never changed."""

    @abstractmethod
    async def record(self, entry: AuditEntry) -> None: ...

    @abstractmethod
    async def page(self, filters: AuditFilters, page: PageRequest) -> Page[AuditEntry]:
        """The matching entries, newest first (``at``, then id, descending)."""


class Audit:
    """Request-scoped: the client's address and user agent come from the ``Provenance``
    the HTTP layer filled in (``None`` for work in this process: the CLI, jobs)."""

    def __init__(self, provenance: Provenance, clock: Clock, ids: IdGenerator) -> None:
        self._provenance = provenance
        self._clock = clock
        self._ids = ids

    async def record(
        self,
        log: AuditLog,
        type_: str,
        *,
        subject_id: UserId | None,
        actor_id: UserId | None,
        detail: AuditDetail | None = None,
    ) -> None:
        """Write one entry through ``log`` (``uow.audit_log``): call it before ``commit()``,
        so the entry stands or falls with the change. ``detail`` holds plain values, never
        a password, token, hash or token digest."""
        await log.record(
            AuditEntry(
                id=AuditEntryId(self._ids.new_id()),
                at=self._clock.now(),
                type=type_,
                actor_id=actor_id,
                subject_id=subject_id,
                ip=self._provenance.ip,
                user_agent=self._provenance.user_agent,
                detail=dict(detail or {}),
            )
        )
