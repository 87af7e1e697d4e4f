"""Audit entries: who did what to which account, from where, and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType
from uuid import UUID

from domain.shared.ids import UserId

__all__ = ["AuditDetail", "AuditEntry", "AuditEntryId", "AuditType"]

AuditEntryId = NewType("AuditEntryId", UUID)

AuditDetail = Mapping[str, str | int | bool | None]
"""Plain values only; never a password, token, hash or token digest."""


class AuditType:
    """The types written today (API.md, "Audit log")."""

    USER_REGISTERED = "user.registered"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_LOCKED = "login.locked"
    SESSION_REFRESHED = "session.refreshed"
    SESSION_REUSE_DETECTED = "session.reuse_detected"
    SESSION_REVOKED = "session.revoked"
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password.changed"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    ADMIN_CREATED = "admin.created"
    POST_DELETED_BY_ADMIN = "post.deleted_by_admin"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_CANCELLED = "campaign.cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One security-relevant change. ``subject_id`` is the account it is about (``None``
    for a failed login of an unknown e-mail); ``actor_id`` who acted (``None`` when
    anonymous)."""

    id: AuditEntryId
    at: datetime
    type: str
    actor_id: UserId | None
    subject_id: UserId | None
    ip: str | None
    user_agent: str | None
    detail: AuditDetail = field(default_factory=dict)
