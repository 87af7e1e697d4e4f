"""``Audit``: builds the audit entries of one request (or job), for use-cases to record in
the unit of work that makes the change they describe, before its ``commit()``."""

from __future__ import annotations

from application.identity.ports import AuditLog
from application.shared.events import Provenance
from application.shared.ports import Clock, IdGenerator
from domain.identity.audit import AuditDetail, AuditEntry, AuditEntryId
from domain.shared.ids import UserId

__all__ = ["Audit"]


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
