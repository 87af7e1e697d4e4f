"""Request and response bodies of ``/api/v1/auth``, and their mapping to commands and views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from application.identity.list_sessions import SessionView
from application.identity.session_tokens import TokenPair
from domain.identity.user import User

Email = Annotated[str, Meta(min_length=3, max_length=320, examples=["ada@example.com"])]
NewEmail = Annotated[str, Meta(min_length=3, max_length=254, examples=["ada@example.com"])]
Password = Annotated[str, Meta(min_length=1, max_length=1024, examples=["correct horse battery staple"])]
# The policy's length (8..128 characters); it also refuses common passwords and the e-mail itself.
NewPassword = Annotated[str, Meta(min_length=8, max_length=128, examples=["correct horse battery staple"])]


class RegisterBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: NewEmail
    password: NewPassword
    display_name: Annotated[str, Meta(max_length=100, examples=["Ada"])] | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    password: Password


class TokenForm(msgspec.Struct, kw_only=True):
    """OAuth2 password grant (RFC 6749 §4.3), as the docs UI sends it. Open on purpose: the
    server "MUST ignore unrecognized request parameters" (§3.2), such as ``client_id``."""

    username: Email
    password: Password
    grant_type: Literal["password"] | None = None
    scope: str | None = None


class RefreshBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=512)]


class LogoutBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    all_sessions: bool = False


class ChangePasswordBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    current_password: Password
    new_password: NewPassword


LinkToken = Annotated[
    str, Meta(min_length=1, max_length=512, description="The `token` parameter of the link in the e-mail")
]


class PasswordResetBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email


class PasswordResetConfirmBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: LinkToken
    new_password: NewPassword


class VerifyEmailBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: LinkToken


class AcceptedView(msgspec.Struct, kw_only=True):
    """The request was taken; what it sets off happens in the background."""

    detail: str


class TokenPairView(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: Annotated[int, Meta(description="Access-token lifetime in seconds", examples=[900])]

    @classmethod
    def of(cls, pair: TokenPair) -> TokenPairView:
        return cls(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


class UserPrivateView(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    display_name: str
    role: Literal["user", "admin"]
    is_active: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPrivateView:
        return cls(
            id=user.id,
            email=user.email.value,
            display_name=user.display_name,
            role=user.role.value,
            is_active=user.is_active,
            email_verified=user.email_verified,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class SessionItemView(msgspec.Struct, kw_only=True):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool

    @classmethod
    def of(cls, view: SessionView) -> SessionItemView:
        s = view.session
        return cls(
            id=s.id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            user_agent=s.user_agent,
            ip=s.ip,
            current=view.current,
        )
