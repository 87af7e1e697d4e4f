"""The ``User`` aggregate."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from domain.identity.email import Email
from domain.identity.events import (
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    UserDeactivated,
    UserDeleted,
    UserReactivated,
    UserRegistered,
    UserRenamed,
    UserRoleChanged,
)
from domain.shared.errors import IllegalTransitionError, InvalidValueError
from domain.shared.events import Aggregate, DomainEvent
from domain.shared.ids import UserId
from domain.shared.text import refuse_control_characters

DISPLAY_NAME_MAX = 100


class Role(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class LastActiveAdminError(IllegalTransitionError):
    """The change would leave no active admin: the last one cannot be demoted, deactivated
    or deleted."""

    def __init__(self) -> None:
        super().__init__("the last active admin cannot be demoted, deactivated or deleted")


def display_name_for(raw: str | None, email: Email) -> str:
    """Trimmed display name, 1..100 characters, no control characters; defaults to the
    e-mail's local part."""
    name = (raw if raw is not None else email.value.partition("@")[0][:DISPLAY_NAME_MAX]).strip()
    refuse_control_characters("display_name", name)
    if not name:
        raise InvalidValueError("display_name", "must not be blank")
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidValueError("display_name", f"must be at most {DISPLAY_NAME_MAX} characters")
    return name


@dataclass(slots=True, kw_only=True, eq=False)
class User(Aggregate):
    """An account. ``password_hash`` is opaque here: only the ``PasswordHasher`` reads it."""

    aggregate_type: ClassVar[str] = "user"

    id: UserId
    email: Email
    display_name: str
    password_hash: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime
    email_verified: bool = False
    """Whether the owner of ``email`` proved it by following a link mailed to it."""
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def register(
        cls,
        *,
        user_id: UserId,
        email: Email,
        display_name: str | None,
        password_hash: str,
        role: Role,
        now: datetime,
    ) -> User:
        user = cls(
            id=user_id,
            email=email,
            display_name=display_name_for(display_name, email),
            password_hash=password_hash,
            role=role,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        user.events.append(UserRegistered(occurred_at=now, user_id=user_id, email=email.value, role=role))
        return user

    def change_password(self, password_hash: str, *, now: datetime) -> None:
        self.password_hash = password_hash
        self.updated_at = now
        self.events.append(PasswordChanged(occurred_at=now, user_id=self.id))

    def request_email_verification(self, *, now: datetime) -> bool:
        """Ask for a new verification link; False (and nothing recorded) when the address
        is verified already."""
        if self.email_verified:
            return False
        self.events.append(EmailVerificationRequested(occurred_at=now, user_id=self.id, email=self.email.value))
        return True

    def verify_email(self, *, now: datetime) -> bool:
        """The address is proven; False (and nothing recorded) when it was already."""
        if self.email_verified:
            return False
        self.email_verified = True
        self.updated_at = now
        self.events.append(EmailVerified(occurred_at=now, user_id=self.id, email=self.email.value))
        return True

    def upgrade_hash(self, password_hash: str, *, now: datetime) -> None:
        """Store a re-hash of the same password under newer parameters (no event: nothing changed for the user)."""
        self.password_hash = password_hash
        self.updated_at = now

    @property
    def is_active_admin(self) -> bool:
        return self.role is Role.ADMIN and self.is_active

    def change_role(self, role: Role, *, now: datetime) -> bool:
        """Give the account ``role``; False (and nothing recorded) when it has it already."""
        if role == self.role:
            return False
        self.role = role
        self.updated_at = now
        self.events.append(UserRoleChanged(occurred_at=now, user_id=self.id, role=role))
        return True

    def deactivate(self, *, now: datetime) -> bool:
        """Close the account (it can no longer log in); False when it was closed already."""
        if not self.is_active:
            return False
        self.is_active = False
        self.updated_at = now
        self.events.append(UserDeactivated(occurred_at=now, user_id=self.id))
        return True

    def reactivate(self, *, now: datetime) -> bool:
        """Open a closed account again; False when it was open."""
        if self.is_active:
            return False
        self.is_active = True
        self.updated_at = now
        self.events.append(UserReactivated(occurred_at=now, user_id=self.id))
        return True

    def rename(self, display_name: str, *, now: datetime) -> bool:
        """Set the display name (trimmed and checked as at registration); False when unchanged."""
        name = display_name_for(display_name, self.email)
        if name == self.display_name:
            return False
        self.display_name = name
        self.updated_at = now
        self.events.append(UserRenamed(occurred_at=now, user_id=self.id, display_name=name))
        return True

    def delete(self, *, now: datetime) -> None:
        """Record that the account is deleted; the repository's ``delete`` removes it."""
        self.events.append(UserDeleted(occurred_at=now, user_id=self.id))
