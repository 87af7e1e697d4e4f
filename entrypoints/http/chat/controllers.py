"""``/api/v1/bot`` (the webhook, the status) and ``/api/v1/chat`` (admins' view of the bot's chats)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from application.chat.bot_status import BotStatus
from application.chat.get_message import GetMessage
from application.chat.list_messages import ListMessages
from application.chat.list_threads import ListThreads
from application.chat.receive_update import ReceiveUpdate
from application.chat.reply import Reply, ReplyCommand
from application.shared.actor import Actor
from domain.chat.chat import MessageId, ThreadId
from entrypoints.http.auth import BEARER_SECURITY
from entrypoints.http.chat.schemas import BotStatusBody, MessageBody, MessagePage, ReplyBody, ThreadPage
from entrypoints.http.pages import PageNumber, PageSize
from entrypoints.http.problems import problem_responses

__all__ = ["BotController", "ChatController"]

SecretToken = Annotated[
    str | None,
    HeaderParameter(
        name="X-Telegram-Bot-Api-Secret-Token",
        required=False,
        description="The secret set with the webhook (`PORTSIDE_TELEGRAM_WEBHOOK_SECRET`)",
    ),
]


async def secret_first(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: the webhook's secret (and whether the webhook exists at all) is checked
    before its body is read, so nobody without the secret learns how bodies are read."""
    receive = await connection.state.dishka_container.get(ReceiveUpdate)
    receive.check(connection.headers.get("x-telegram-bot-api-secret-token"))


class BotController(Controller):
    path = "/bot"
    tags = ["bot"]

    @post(
        "/webhook",
        status_code=HTTP_200_OK,
        summary="Telegram's webhook",
        description=f"{ReceiveUpdate.__doc__}\n\nThe body is a Telegram `Update`; unknown fields are "
        "accepted here (the one exception to the unknown-field rule). 401 carries no `WWW-Authenticate`.",
        security=[{}],
        guards=[secret_first],
        responses=problem_responses(400, 401, 404, 422),
    )
    @inject
    async def webhook(
        self, data: JSONBody[dict[str, Any]], receive: FromDishka[ReceiveUpdate], secret: SecretToken = None
    ) -> dict[str, bool]:
        await receive(secret, data)
        return {"ok": True}

    @get(
        "/status",
        summary="The bot's status",
        description=BotStatus.__doc__,
        security=BEARER_SECURITY,
        responses=problem_responses(401, 403),
    )
    @inject
    async def status(self, actor: FromDishka[Actor], bot_status: FromDishka[BotStatus]) -> BotStatusBody:
        return BotStatusBody.of(await bot_status(actor))


class ChatController(Controller):
    path = "/chat"
    tags = ["chat"]
    security = BEARER_SECURITY

    @get(
        "/threads",
        summary="The bot's chats",
        description=ListThreads.__doc__,
        responses=problem_responses(401, 403, 422),
    )
    @inject
    async def threads(
        self,
        actor: FromDishka[Actor],
        list_threads: FromDishka[ListThreads],
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> ThreadPage:
        return ThreadPage.of(await list_threads(actor, page, size))

    @get(
        "/threads/{thread_id:uuid}/messages",
        summary="A thread's messages",
        description=ListMessages.__doc__,
        responses=problem_responses(401, 403, 404, 422),
    )
    @inject
    async def messages(
        self,
        thread_id: FromPath[UUID],
        actor: FromDishka[Actor],
        list_messages: FromDishka[ListMessages],
        page: PageNumber = 1,
        size: PageSize = 20,
    ) -> MessagePage:
        return MessagePage.of(await list_messages(actor, ThreadId(thread_id), page, size))

    @get(
        "/messages/{message_id:uuid}",
        summary="A message",
        description=GetMessage.__doc__,
        responses=problem_responses(401, 403, 404),
    )
    @inject
    async def message(
        self, message_id: FromPath[UUID], actor: FromDishka[Actor], get_message: FromDishka[GetMessage]
    ) -> MessageBody:
        return MessageBody.of(await get_message(actor, MessageId(message_id)))

    @post(
        "/threads/{thread_id:uuid}/messages",
        status_code=HTTP_202_ACCEPTED,
        summary="Reply in a thread",
        description=Reply.__doc__,
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    @inject
    async def reply(
        self, thread_id: FromPath[UUID], data: JSONBody[ReplyBody], actor: FromDishka[Actor], reply: FromDishka[Reply]
    ) -> Response[MessageBody]:
        message = await reply(ReplyCommand(actor=actor, thread_id=ThreadId(thread_id), text=data.text))
        return Response(MessageBody.of(message), status_code=HTTP_202_ACCEPTED)
