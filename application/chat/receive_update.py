"""The bot's webhook: a Telegram update stored once per ``update_id``; a job handles it."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.chat.ports import ChatUnitOfWork
from application.errors import ApplicationError, NotFoundError
from application.shared.ports import Clock, IdGenerator
from domain.chat.chat import WebhookUpdate
from domain.shared.errors import InvalidValueError

__all__ = ["ReceiveUpdate", "WebhookSecretError", "WebhookSettings"]


class WebhookSecretError(ApplicationError):
    """The ``X-Telegram-Bot-Api-Secret-Token`` header is missing or wrong (401)."""

    def __init__(self) -> None:
        super().__init__("the webhook secret token is missing or wrong")


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    secret: str | None
    """``PORTSIDE_TELEGRAM_WEBHOOK_SECRET``; ``None``: the webhook is off (404)."""


class ReceiveUpdate:
    """Store a Telegram ``Update`` once per ``update_id`` and answer at once; a job does
    what it asks (``HandleUpdate``).

    - No secret configured: ``NotFoundError`` (the webhook does not exist). A missing or
      wrong ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time):
      ``WebhookSecretError``, and nothing is stored.
    - Unknown fields and kinds of update are accepted; only ``update_id`` (an integer) is
      required. A repeated ``update_id`` is stored once and handled once.
    """

    def __init__(self, uow: ChatUnitOfWork, settings: WebhookSettings, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._settings = settings
        self._clock = clock
        self._ids = ids

    def check(self, secret_token: str | None) -> None:
        """The secret check alone, before the body is read."""
        expected = self._settings.secret
        if expected is None:
            raise NotFoundError("webhook", "bot")
        given = (secret_token or "").encode()
        if not hmac.compare_digest(given, expected.encode()):
            raise WebhookSecretError()

    async def __call__(self, secret_token: str | None, payload: Mapping[str, Any]) -> bool:
        """True when the update is new."""
        self.check(secret_token)
        update_id = payload.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
            raise InvalidValueError("update_id", "must be a non-negative integer")
        update = WebhookUpdate.receive(
            record_id=self._ids.new_id(), update_id=update_id, payload=dict(payload), at=self._clock.now()
        )
        async with self._uow as uow:
            new = await uow.updates.add_if_new(update)
            await uow.commit()
        return new
