"""``SendWelcomeEmail``: the first mail of a new account, after its registration committed."""

from __future__ import annotations

from typing import ClassVar

from application.shared.email import EmailMessage, EmailSender
from application.shared.events import Envelope
from application.shared.handlers import EventHandler


class SendWelcomeEmail(EventHandler):
    """Mails the registered address once per registration. The message key is derived from
    the event id, so a resend after a crash carries the same ``Message-ID``."""

    name: ClassVar[str] = "identity.welcome_email"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    def __init__(self, sender: EmailSender) -> None:
        self._sender = sender

    async def __call__(self, envelope: Envelope) -> None:
        email = str(envelope.payload["email"])
        await self._sender.send(
            EmailMessage(
                to=email,
                subject="Welcome to portside",
                text=f"Hello,\n\nyour portside account for {email} is ready.\n",
                key=f"{envelope.event_id}.welcome",
            )
        )
