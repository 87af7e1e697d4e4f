"""Bodies of ``/api/v1/users`` and their mapping to commands and views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.identity.update_profile import UpdateProfileCommand
from application.identity.update_user import UpdateUserCommand
from application.shared.actor import Actor
from domain.identity.user import DISPLAY_NAME_MAX, Role, User
from domain.shared.ids import UserId
from domain.shared.pagination import Page
from entrypoints.http.identity.schemas import UserPrivateView
from entrypoints.http.pages import page_fields

__all__ = ["ProfilePatch", "UserPage", "UserPatch", "UserPrivateView", "UserPublicView"]

DisplayName = Annotated[
    str,
    Meta(
        max_length=DISPLAY_NAME_MAX,
        description=f"1..{DISPLAY_NAME_MAX} characters after trimming, no control characters",
        examples=["Ada"],
    ),
]


class ProfilePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The caller's profile fields; send at least one. `role`, `is_active`, `email` or
    `email_verified` are not profile fields: sending one is a 422, and nothing changes."""

    display_name: DisplayName | UnsetType = UNSET

    def command(self, actor: Actor) -> UpdateProfileCommand:
        return UpdateProfileCommand(actor=actor, display_name=None if self.display_name is UNSET else self.display_name)


class UserPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What an admin may change; send at least one field. The e-mail cannot change here."""

    role: Literal["user", "admin"] | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    display_name: DisplayName | UnsetType = UNSET

    def command(self, actor: Actor, user_id: UUID) -> UpdateUserCommand:
        return UpdateUserCommand(
            actor=actor,
            user_id=UserId(user_id),
            role=None if self.role is UNSET else Role(self.role),
            is_active=None if self.is_active is UNSET else self.is_active,
            display_name=None if self.display_name is UNSET else self.display_name,
        )


# Closed (``forbid_unknown_fields``, documented as ``additionalProperties: false``) so that a
# private view, which has more fields, never also matches the public one in the document.
class UserPublicView(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What any signed-in caller sees of an account."""

    id: UUID
    display_name: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublicView:
        return cls(id=user.id, display_name=user.display_name, created_at=user.created_at)


class UserPage(msgspec.Struct, kw_only=True):
    items: list[UserPrivateView]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: Page[User]) -> UserPage:
        return cls(**page_fields(page, UserPrivateView.of))
