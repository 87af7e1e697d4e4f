"""``MeteredAudit``: the audit, with login failures and lockouts counted as they are recorded."""

from __future__ import annotations

from adapters.prometheus.metrics import LOGIN_FAILURES, LOGIN_LOCKOUTS
from application.shared.audit import Audit, AuditLog
from domain.shared.audit import AuditDetail, AuditType
from domain.shared.ids import UserId

__all__ = ["MeteredAudit"]


class MeteredAudit(Audit):
    """``login.failed`` entries count in ``portside_login_failures_total`` and
    ``login.locked`` (a login refused by the lockout) in ``portside_login_lockouts_total``.
    The audit entry is the login's outcome of record, so the counters agree with it."""

    async def record(
        self,
        log: AuditLog,
        type_: str,
        *,
        subject_id: UserId | None,
        actor_id: UserId | None,
        detail: AuditDetail | None = None,
    ) -> None:
        await super().record(log, type_, subject_id=subject_id, actor_id=actor_id, detail=detail)
        if type_ == AuditType.LOGIN_FAILED:
            LOGIN_FAILURES.inc()
        elif type_ == AuditType.LOGIN_LOCKED:
            LOGIN_LOCKOUTS.inc()
