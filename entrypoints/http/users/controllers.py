"""``/api/v1/users``: read accounts, edit one's profile, administer accounts."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, delete, get, patch
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from application.identity.delete_user import DeleteUser, DeleteUserCommand
from application.identity.get_user import GetUser, GetUserCommand
from application.identity.list_users import ListUsers, ListUsersCommand
from application.identity.update_profile import UpdateProfile
from application.identity.update_user import UpdateUser
from application.shared.actor import Actor
from domain.shared.ids import UserId
from entrypoints.http.auth import BEARER_SECURITY
from entrypoints.http.pages import PageNumber, PageSize
from entrypoints.http.problems import problem_responses
from entrypoints.http.users.schemas import ProfilePatch, UserPage, UserPatch, UserPrivateView, UserPublicView

__all__ = ["UserController"]

Search = Annotated[
    str | None,
    QueryParameter(
        max_length=320,
        description="Case-insensitive substring of the e-mail or display name; `%` and `_` match themselves",
    ),
]


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    security = BEARER_SECURITY

    @get(
        "/", summary="List accounts (admin)", description=ListUsers.__doc__, responses=problem_responses(401, 403, 422)
    )
    @inject
    async def list_users(
        self,
        actor: FromDishka[Actor],
        list_users: FromDishka[ListUsers],
        q: Search = None,
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> UserPage:
        return UserPage.of(await list_users(ListUsersCommand(actor=actor, q=q, page=page, size=size)))

    @get(
        "/{user_id:uuid}", summary="Read an account", description=GetUser.__doc__, responses=problem_responses(401, 404)
    )
    @inject
    async def get_user(
        self, user_id: FromPath[UUID], actor: FromDishka[Actor], get_user: FromDishka[GetUser]
    ) -> UserPrivateView | UserPublicView:
        reading = await get_user(GetUserCommand(actor=actor, user_id=UserId(user_id)))
        return UserPrivateView.of(reading.user) if reading.private else UserPublicView.of(reading.user)

    @patch(
        "/me",
        summary="Edit your profile",
        description=UpdateProfile.__doc__,
        responses=problem_responses(400, 401, 422),
    )
    @inject
    async def update_profile(
        self, data: JSONBody[ProfilePatch], actor: FromDishka[Actor], update: FromDishka[UpdateProfile]
    ) -> UserPrivateView:
        return UserPrivateView.of(await update(data.command(actor)))

    @patch(
        "/{user_id:uuid}",
        summary="Administer an account (admin)",
        description=UpdateUser.__doc__,
        responses=problem_responses(400, 401, 403, 404, 409, 422),
    )
    @inject
    async def update_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UserPatch],
        actor: FromDishka[Actor],
        update: FromDishka[UpdateUser],
    ) -> UserPrivateView:
        return UserPrivateView.of(await update(data.command(actor, user_id)))

    @delete(
        "/{user_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete an account (admin, or your own)",
        description=DeleteUser.__doc__,
        responses=problem_responses(401, 403, 404, 409),
    )
    @inject
    async def delete_user(
        self, user_id: FromPath[UUID], actor: FromDishka[Actor], delete_user: FromDishka[DeleteUser]
    ) -> None:
        await delete_user(DeleteUserCommand(actor=actor, user_id=UserId(user_id)))
