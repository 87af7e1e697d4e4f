"""Bodies of ``/api/v1/audit`` and ``/api/v1/users/me/audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.shared.audit import AuditEntry
from domain.shared.pagination import Page
from entrypoints.http.pages import page_fields


class AuditEntryView(msgspec.Struct, kw_only=True):
    id: UUID
    at: datetime
    type: str
    actor_id: UUID | None
    """Who acted; null when anonymous."""
    subject_id: UUID | None
    """The account the entry is about; null for a failed login of an unknown e-mail."""
    ip: str | None
    user_agent: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls(
            id=entry.id,
            at=entry.at,
            type=entry.type,
            actor_id=entry.actor_id,
            subject_id=entry.subject_id,
            ip=entry.ip,
            user_agent=entry.user_agent,
            detail=dict(entry.detail),
        )


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntryView]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[AuditEntry]) -> AuditPage:
        return cls(**page_fields(page, AuditEntryView.of))
