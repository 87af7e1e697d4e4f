"""The broadcast, chat and telegram contexts: the Bot API client, send pacing, campaigns,
the sender, the webhook and the bot's chats."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, decorate, provide, provide_all

from adapters.memory.broadcast import InMemoryBroadcastUnitOfWork
from adapters.memory.chat import InMemoryChatUnitOfWork
from adapters.prometheus.telegram import MeteredTelegramClient
from adapters.sql.broadcast import SqlBroadcastUnitOfWork
from adapters.sql.chat import SqlChatUnitOfWork
from adapters.telegram.http_client import HttpTelegramClient
from adapters.telegram.log_client import LogTelegramClient
from application.broadcast.cancel_campaign import CancelCampaign
from application.broadcast.create_campaign import CreateCampaign
from application.broadcast.delete_campaign import DeleteCampaign
from application.broadcast.delivery_figures import DeliveryFigures
from application.broadcast.get_campaign import GetCampaign
from application.broadcast.list_campaigns import ListCampaigns
from application.broadcast.list_deliveries import ListDeliveries
from application.broadcast.ports import BroadcastUnitOfWork, BroadcastUnits
from application.broadcast.sender import CampaignSender, SenderRules
from application.broadcast.start_campaign import StartCampaign
from application.chat.bot_status import BotStatus
from application.chat.get_message import GetMessage
from application.chat.handle_update import HandleUpdate
from application.chat.list_messages import ListMessages
from application.chat.list_threads import ListThreads
from application.chat.ports import ChatUnitOfWork
from application.chat.receive_update import ReceiveUpdate, WebhookSettings
from application.chat.reply import Reply
from application.chat.send_reply import SendReply
from application.jobs.handle_event import EventHandlers
from application.shared.authorization import AdminOnly
from application.telegram.client import TelegramClient
from entrypoints.providers.storage import Storage, fresh_units, unit_of_work_provider
from entrypoints.settings import Settings

__all__ = ["telegram_providers"]


class TelegramProvider(Provider):
    admin_only = provide(AdminOnly, scope=Scope.APP)
    sender = provide(CampaignSender, scope=Scope.APP)
    use_cases = provide_all(
        CreateCampaign,
        GetCampaign,
        ListCampaigns,
        ListDeliveries,
        DeliveryFigures,
        StartCampaign,
        CancelCampaign,
        DeleteCampaign,
        ReceiveUpdate,
        ListThreads,
        ListMessages,
        GetMessage,
        Reply,
        BotStatus,
        scope=Scope.REQUEST,
    )
    handle_update = provide(HandleUpdate, scope=Scope.REQUEST)
    send_reply = provide(SendReply, scope=Scope.REQUEST)

    @decorate
    def handlers(self, handlers: EventHandlers, update: HandleUpdate, reply: SendReply) -> EventHandlers:
        return EventHandlers((*handlers.all, update, reply))

    @provide(scope=Scope.APP)
    def sender_rules(self) -> SenderRules:
        return SenderRules()

    @provide(scope=Scope.APP)
    def webhook(self, s: Settings) -> WebhookSettings:
        return WebhookSettings(secret=s.telegram_webhook_secret)

    @provide(scope=Scope.APP)
    async def telegram(self, s: Settings) -> AsyncIterator[TelegramClient]:
        if s.telegram_bot_token is None:
            yield MeteredTelegramClient(LogTelegramClient())
            return
        client = HttpTelegramClient(s.telegram_bot_token, s.telegram_api_base)
        yield MeteredTelegramClient(client)
        await client.aclose()


def telegram_providers(storage: Storage) -> tuple[Provider, ...]:
    """(The send pacer comes with Redis or without it: ``entrypoints.container``.)"""
    return (
        TelegramProvider(),
        unit_of_work_provider(
            storage, BroadcastUnitOfWork, sql=SqlBroadcastUnitOfWork, memory=InMemoryBroadcastUnitOfWork
        ),
        unit_of_work_provider(storage, ChatUnitOfWork, sql=SqlChatUnitOfWork, memory=InMemoryChatUnitOfWork),
        fresh_units(storage, BroadcastUnits, sql=SqlBroadcastUnitOfWork, memory=InMemoryBroadcastUnitOfWork),
    )
