"""``PasswordResetRequest``: someone asked for a reset link for an address."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, NewType
from uuid import UUID

from domain.identity.email import Email
from domain.identity.events import PasswordResetRequested
from domain.shared.events import Aggregate, DomainEvent

PasswordResetRequestId = NewType("PasswordResetRequestId", UUID)


@dataclass(slots=True, kw_only=True, eq=False)
class PasswordResetRequest(Aggregate):
    """One request for a reset link, about an address rather than an account.

    It is recorded the same way whether or not an account has the address, so the answer
    costs the same work either way; the job that follows looks the account up and mails
    nothing when no active one has it.
    """

    aggregate_type: ClassVar[str] = "password_reset_request"

    id: PasswordResetRequestId
    email: Email
    requested_at: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def record(cls, *, request_id: PasswordResetRequestId, email: Email, now: datetime) -> PasswordResetRequest:
        request = cls(id=request_id, email=email, requested_at=now)
        request.events.append(PasswordResetRequested(occurred_at=now, email=email.value))
        return request
