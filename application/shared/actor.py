"""The authenticated caller, as use-cases see it."""

from __future__ import annotations

from dataclasses import dataclass

from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.ids import UserId


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: UserId
    session_id: SessionId
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
