"""``/api/v1/auth``: decode, call one use-case, encode."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Request, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from application.identity.change_password import ChangePassword, ChangePasswordCommand
from application.identity.confirm_password_reset import ConfirmPasswordReset, ConfirmPasswordResetCommand
from application.identity.get_current_user import GetCurrentUser
from application.identity.list_sessions import ListSessions
from application.identity.log_in import LogIn, LogInCommand
from application.identity.log_out import LogOut, LogOutCommand
from application.identity.refresh_session import RefreshSession, RefreshSessionCommand
from application.identity.register_user import RegisterUser, RegisterUserCommand
from application.identity.request_password_reset import RequestPasswordReset, RequestPasswordResetCommand
from application.identity.resend_verification import ResendVerification
from application.identity.revoke_session import RevokeSession, RevokeSessionCommand
from application.identity.verify_email import VerifyEmail, VerifyEmailCommand
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from entrypoints.http.auth import BEARER_SECURITY, READS_FIRST, client_info
from entrypoints.http.identity.schemas import (
    AcceptedView,
    ChangePasswordBody,
    LoginBody,
    LogoutBody,
    PasswordResetBody,
    PasswordResetConfirmBody,
    RefreshBody,
    RegisterBody,
    SessionItemView,
    TokenForm,
    TokenPairView,
    UserPrivateView,
    VerifyEmailBody,
)
from entrypoints.http.problems import problem_responses

__all__ = ["AuthController"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_RESET_ACCEPTED = AcceptedView(
    detail="If an active account has this address, a link to reset its password is on its way."
)
_RESEND_ACCEPTED = AcceptedView(detail="Unless your address is verified already, a new link is on its way.")


def _link_problems(*statuses: int) -> dict[int, ResponseSpec]:
    """``problem_responses``, saying what a 400 means for an operation that takes a link's token."""
    responses = problem_responses(400, *statuses)
    responses[400] = dataclasses.replace(
        responses[400], description="Malformed request, or a link token that is unknown, used already or expired"
    )
    return responses


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Create an account",
        description=RegisterUser.__doc__,
        responses=problem_responses(400, 409, 422, 429),
    )
    @inject
    async def register(
        self, request: Request[Any, Any, Any], data: JSONBody[RegisterBody], register_user: FromDishka[RegisterUser]
    ) -> UserPrivateView:
        user = await register_user(
            RegisterUserCommand(
                email=data.email, password=data.password, display_name=data.display_name, client=client_info(request)
            )
        )
        return UserPrivateView.of(user)

    @post(
        "/login",
        status_code=200,
        summary="Log in",
        description=LogIn.__doc__,
        responses=problem_responses(400, 401, 422, 429),
    )
    @inject
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginBody], log_in: FromDishka[LogIn]
    ) -> Response[TokenPairView]:
        pair = await log_in(LogInCommand(email=data.email, password=data.password, client=client_info(request)))
        return Response(TokenPairView.of(pair), headers=_NO_STORE)

    @post(
        "/token",
        status_code=200,
        summary="Log in (OAuth2 password grant, for the docs UI)",
        description="Same rules, lockout and throttling as `/auth/login`; form fields `username` and `password`.",
        responses=problem_responses(400, 401, 422, 429),
    )
    @inject
    async def token(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[TokenForm], log_in: FromDishka[LogIn]
    ) -> Response[TokenPairView]:
        pair = await log_in(LogInCommand(email=data.username, password=data.password, client=client_info(request)))
        return Response(TokenPairView.of(pair), headers=_NO_STORE)

    @post(
        "/refresh",
        status_code=200,
        summary="Rotate the refresh token",
        description=RefreshSession.__doc__,
        responses=problem_responses(400, 401, 422),
    )
    @inject
    async def refresh(
        self, data: JSONBody[RefreshBody], refresh_session: FromDishka[RefreshSession]
    ) -> Response[TokenPairView]:
        pair = await refresh_session(RefreshSessionCommand(refresh_token=data.refresh_token))
        return Response(TokenPairView.of(pair), headers=_NO_STORE)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="Log out",
        description=LogOut.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(400, 401, 422),
    )
    @inject
    async def logout(
        self, actor: FromDishka[Actor], log_out: FromDishka[LogOut], data: JSONBody[LogoutBody | None] = None
    ) -> None:
        await log_out(LogOutCommand(actor=actor, all_sessions=bool(data and data.all_sessions)))

    @get(
        "/me",
        summary="The caller's account",
        security=BEARER_SECURITY,
        responses=problem_responses(401),
        opt=READS_FIRST,
    )
    @inject
    async def me(self, actor: FromDishka[Actor], get_current_user: FromDishka[GetCurrentUser]) -> UserPrivateView:
        return UserPrivateView.of(await get_current_user(actor))

    @post(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        summary="Change password",
        description=ChangePassword.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(400, 401, 422, 429),
    )
    @inject
    async def change_password(
        self, data: JSONBody[ChangePasswordBody], actor: FromDishka[Actor], change: FromDishka[ChangePassword]
    ) -> None:
        await change(
            ChangePasswordCommand(actor=actor, current_password=data.current_password, new_password=data.new_password)
        )

    @get(
        "/sessions",
        summary="The caller's live sessions",
        description=ListSessions.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(401),
    )
    @inject
    async def sessions(
        self, actor: FromDishka[Actor], list_sessions: FromDishka[ListSessions]
    ) -> list[SessionItemView]:
        return [SessionItemView.of(view) for view in await list_sessions(actor)]

    @delete(
        "/sessions/{session_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke one of the caller's sessions",
        description=RevokeSession.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(401, 404),
    )
    @inject
    async def revoke_session(
        self, session_id: FromPath[UUID], actor: FromDishka[Actor], revoke: FromDishka[RevokeSession]
    ) -> None:
        await revoke(RevokeSessionCommand(actor=actor, session_id=SessionId(session_id)))

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        summary="Ask for a password-reset link",
        description=RequestPasswordReset.__doc__,
        responses=problem_responses(400, 422, 429),
    )
    @inject
    async def request_password_reset(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordResetBody],
        request_reset: FromDishka[RequestPasswordReset],
    ) -> AcceptedView:
        await request_reset(RequestPasswordResetCommand(email=data.email, client=client_info(request)))
        return _RESET_ACCEPTED

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        summary="Set a new password with a reset link's token",
        description=ConfirmPasswordReset.__doc__,
        responses=_link_problems(422),
    )
    @inject
    async def confirm_password_reset(
        self, data: JSONBody[PasswordResetConfirmBody], confirm: FromDishka[ConfirmPasswordReset]
    ) -> None:
        await confirm(ConfirmPasswordResetCommand(token=data.token, new_password=data.new_password))

    @post(
        "/verify-email",
        status_code=HTTP_204_NO_CONTENT,
        summary="Verify the account's e-mail address with a verification link's token",
        description=VerifyEmail.__doc__,
        responses=_link_problems(422),
    )
    @inject
    async def verify_email(self, data: JSONBody[VerifyEmailBody], verify: FromDishka[VerifyEmail]) -> None:
        await verify(VerifyEmailCommand(token=data.token))

    @post(
        "/verify-email/resend",
        status_code=HTTP_202_ACCEPTED,
        summary="Ask for a new verification link",
        description=ResendVerification.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(401, 429),
    )
    @inject
    async def resend_verification(
        self, actor: FromDishka[Actor], resend: FromDishka[ResendVerification]
    ) -> AcceptedView:
        await resend(actor)
        return _RESEND_ACCEPTED
