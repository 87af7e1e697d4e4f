"""Events of the identity context."""

from __future__ import annotations

from dataclasses import dataclass

from domain.identity.ids import SessionId
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered(DomainEvent):
    user_id: UserId
    email: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRoleChanged(DomainEvent):
    user_id: UserId
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChanged(DomainEvent):
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted(DomainEvent):
    session_id: SessionId
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRevoked(DomainEvent):
    session_id: SessionId
    user_id: UserId
    reason: str
