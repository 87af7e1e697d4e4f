"""The bot's status for admins: configured, webhook on, subscribers, queued jobs."""

from __future__ import annotations

from dataclasses import dataclass

from application.chat.ports import ChatUnitOfWork
from application.chat.receive_update import WebhookSettings
from application.shared.actor import Actor
from application.shared.authorization import Action, AdminOnly
from application.telegram.client import TelegramClient

__all__ = ["BotStatus", "BotStatusView"]


@dataclass(frozen=True, slots=True)
class BotStatusView:
    configured: bool
    webhook_secret_set: bool
    subscribers: int
    queued_jobs: int


class BotStatus:
    """Whether a bot token and a webhook secret are set, the chats subscribed to broadcasts, and
    the background jobs (all kinds) queued or running; read locally, without asking Telegram."""

    def __init__(
        self,
        uow: ChatUnitOfWork,
        policy: AdminOnly,
        telegram: TelegramClient,
        settings: WebhookSettings,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._telegram = telegram
        self._settings = settings

    async def __call__(self, actor: Actor | None) -> BotStatusView:
        self._policy.require(actor, Action.READ, "see the bot's status")
        async with self._uow as uow:
            subscribers = await uow.chats.count_subscribed()
            queued = await uow.backlog.queued()
        return BotStatusView(
            configured=self._telegram.configured,
            webhook_secret_set=self._settings.secret is not None,
            subscribers=subscribers,
            queued_jobs=queued,
        )
