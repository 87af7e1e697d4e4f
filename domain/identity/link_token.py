"""``LinkToken``: a single-use secret mailed as a link (password reset, e-mail verification).

Only the token's digest is kept; the token itself exists in the e-mail alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.shared.ids import UserId


class LinkPurpose(enum.StrEnum):
    """What a link token proves; a token of one purpose is never accepted for another."""

    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkToken:
    token_hash: str
    purpose: LinkPurpose
    user_id: UserId
    event_id: UUID
    """The event whose job minted and mailed it."""
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        """Not used yet and not expired at ``now`` (it expires at ``expires_at`` exactly)."""
        return self.used_at is None and now < self.expires_at
