"""``SendVerificationEmail``: a fresh verification link, after an account asked for one."""

from __future__ import annotations

from typing import ClassVar

from application.identity.links import LinkIssuer
from application.shared.email import EmailMessage, EmailSender
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from domain.identity.link_token import LinkPurpose


class SendVerificationEmail(EventHandler):
    """Mails ``{PORTSIDE_PUBLIC_URL}/verify-email?token=...`` to the account's address.

    The token is single use and valid 48 hours (by default); token and message key come
    from the event id, as for the welcome e-mail. Nothing is sent when the address was
    verified meanwhile, the account is gone or deactivated, or a rerun finds the link it
    stored before used or expired.
    """

    name: ClassVar[str] = "identity.verification_email"
    events: ClassVar[frozenset[str]] = frozenset({"email_verification.requested"})

    def __init__(self, sender: EmailSender, links: LinkIssuer) -> None:
        self._sender = sender
        self._links = links

    async def __call__(self, envelope: Envelope) -> None:
        link = await self._links.issue(LinkPurpose.EMAIL_VERIFICATION, envelope)
        if link is None:
            return
        await self._sender.send(
            EmailMessage(
                to=link.to,
                subject="Confirm your e-mail address",
                text=(
                    "Hello,\n\nplease confirm that this address belongs to your portside account by opening"
                    f" this link within {link.lifetime_text()}:\n\n{link.url}\n\n"
                    "If you did not ask for this, you can ignore this message.\n"
                ),
                key=f"{envelope.event_id}.verify_email",
                secret=True,
            )
        )
