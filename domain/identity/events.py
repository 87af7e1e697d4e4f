"""Events of the identity context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.identity.ids import SessionId
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered(DomainEvent):
    name: ClassVar[str] = "user.registered"
    user_id: UserId
    email: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRoleChanged(DomainEvent):
    name: ClassVar[str] = "user.role_changed"
    user_id: UserId
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDeactivated(DomainEvent):
    """An admin closed the account; its sessions ended with it."""

    name: ClassVar[str] = "user.deactivated"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class UserReactivated(DomainEvent):
    name: ClassVar[str] = "user.reactivated"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRenamed(DomainEvent):
    name: ClassVar[str] = "user.renamed"
    user_id: UserId
    display_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDeleted(DomainEvent):
    """The account is gone, with its sessions, links and todos."""

    name: ClassVar[str] = "user.deleted"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChanged(DomainEvent):
    name: ClassVar[str] = "user.password_changed"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted(DomainEvent):
    name: ClassVar[str] = "session.started"
    session_id: SessionId
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRevoked(DomainEvent):
    name: ClassVar[str] = "session.revoked"
    session_id: SessionId
    user_id: UserId
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordResetRequested(DomainEvent):
    """Someone asked for a reset link for this (normalized) address, which an account may or
    may not have; a job mails the link if an active account has it when the job runs."""

    name: ClassVar[str] = "password_reset.requested"
    email: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailVerificationRequested(DomainEvent):
    """The account asked for a new verification link; a job mails it."""

    name: ClassVar[str] = "email_verification.requested"
    user_id: UserId
    email: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailVerified(DomainEvent):
    name: ClassVar[str] = "user.email_verified"
    user_id: UserId
    email: str
