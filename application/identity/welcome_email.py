"""``SendWelcomeEmail``: the first mail of a new account, after its registration committed."""

from __future__ import annotations

from typing import ClassVar

from application.identity.links import LinkIssuer
from application.shared.email import EmailMessage, EmailSender
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from domain.identity.link_token import LinkPurpose


class SendWelcomeEmail(EventHandler):
    """Mails the registered address once per registration, with the link that verifies it
    (``{PORTSIDE_PUBLIC_URL}/verify-email?token=...``, valid 48 hours by default).

    The message key and the token are derived from the event id, so a resend after a crash
    carries the same ``Message-ID`` and the same link. An account gone or deactivated by
    then gets the welcome without a link; one verified already (an admin) needs none; and
    a rerun that finds the link it stored before used or expired sends the welcome without
    it rather than a dead link.
    """

    name: ClassVar[str] = "identity.welcome_email"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    def __init__(self, sender: EmailSender, links: LinkIssuer) -> None:
        self._sender = sender
        self._links = links

    async def __call__(self, envelope: Envelope) -> None:
        email = str(envelope.payload["email"])
        link = await self._links.issue(LinkPurpose.EMAIL_VERIFICATION, envelope)
        text = f"Hello,\n\nyour portside account for {email} is ready.\n"
        if link is not None:
            text += (
                f"\nPlease confirm that this address is yours by opening this link within"
                f" {link.lifetime_text()}:\n\n{link.url}\n\n"
                "If you did not create this account, you can ignore this message.\n"
            )
        await self._sender.send(
            EmailMessage(
                to=email,
                subject="Welcome to portside",
                text=text,
                key=f"{envelope.event_id}.welcome",
                secret=link is not None,
            )
        )
