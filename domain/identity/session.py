"""The ``Session`` aggregate: one login on one device, carried by a family of refresh tokens.

Only a hash of the current refresh token is kept. Each refresh rotates the token; presenting
a token that was already rotated away is reuse (RFC 9700 §4.14.2) and revokes the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from domain.identity.events import SessionRevoked, SessionStarted
from domain.identity.ids import SessionId
from domain.shared.errors import DomainError
from domain.shared.events import Aggregate, DomainEvent
from domain.shared.ids import UserId

USER_AGENT_MAX = 512


class RefreshTokenReusedError(DomainError):
    """A refresh token that had already been rotated was presented again."""


class SessionExpiredError(DomainError):
    """The session is revoked or past its idle or absolute lifetime."""


@dataclass(frozen=True, slots=True)
class SessionLifetime:
    idle: timedelta = timedelta(days=14)
    absolute: timedelta = timedelta(days=30)


@dataclass(slots=True, kw_only=True, eq=False)
class Session(Aggregate):
    aggregate_type: ClassVar[str] = "session"

    id: SessionId
    user_id: UserId
    token_hash: str
    created_at: datetime
    last_used_at: datetime
    rotated_at: datetime | None
    idle_expires_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user_agent: str | None
    ip: str | None
    version: int
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def start(
        cls,
        *,
        session_id: SessionId,
        user_id: UserId,
        token_hash: str,
        now: datetime,
        lifetime: SessionLifetime,
        user_agent: str | None,
        ip: str | None,
    ) -> Session:
        session = cls(
            id=session_id,
            user_id=user_id,
            token_hash=token_hash,
            created_at=now,
            last_used_at=now,
            rotated_at=None,
            idle_expires_at=min(now + lifetime.idle, now + lifetime.absolute),
            expires_at=now + lifetime.absolute,
            revoked_at=None,
            user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None,
            ip=ip,
            version=1,
        )
        session.events.append(SessionStarted(occurred_at=now, session_id=session_id, user_id=user_id))
        return session

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.idle_expires_at and now < self.expires_at

    def rotate(self, *, presented_hash: str, new_hash: str, now: datetime, lifetime: SessionLifetime) -> None:
        """Swap the current refresh token for a new one.

        Raises ``SessionExpiredError`` when the session is no longer live and
        ``RefreshTokenReusedError`` when ``presented_hash`` is not the current token's.
        """
        if not self.is_live(now):
            raise SessionExpiredError(str(self.id))
        if presented_hash != self.token_hash:
            raise RefreshTokenReusedError(str(self.id))
        self.token_hash = new_hash
        self.last_used_at = now
        self.rotated_at = now
        self.idle_expires_at = min(now + lifetime.idle, self.expires_at)
        self.version += 1

    def revoke(self, *, now: datetime, reason: str) -> None:
        """End the session. Idempotent: a revoked session stays revoked, with one event."""
        if self.revoked_at is not None:
            return
        self.revoked_at = now
        self.version += 1
        self.events.append(SessionRevoked(occurred_at=now, session_id=self.id, user_id=self.user_id, reason=reason))
