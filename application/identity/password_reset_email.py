"""``SendPasswordResetEmail``: the reset link, after a reset request committed."""

from __future__ import annotations

from typing import ClassVar

from application.identity.links import LinkIssuer
from application.shared.email import EmailMessage, EmailSender
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from domain.identity.link_token import LinkPurpose


class SendPasswordResetEmail(EventHandler):
    """Mails ``{PORTSIDE_PUBLIC_URL}/reset-password?token=...`` to the requested address, when
    an active account has it.

    - The event names an address, not an account (it is committed for every request, so
      the request costs the same whether or not an account exists): the account is looked
      up here, and nothing is sent when no active account has the address (none ever had,
      or it was deleted or deactivated since the request).
    - The token is single use and valid 30 minutes (by default) from when the job first
      stores it; only its digest is stored, and the message is marked secret so no log
      in production shows it.
    - Token and message key come from the event id: a job that runs again after a crash
      mails the same link under the same ``Message-ID``, while that link can still be
      used; once it was used or has expired, a rerun sends nothing.
    """

    name: ClassVar[str] = "identity.password_reset_email"
    events: ClassVar[frozenset[str]] = frozenset({"password_reset.requested"})

    def __init__(self, sender: EmailSender, links: LinkIssuer) -> None:
        self._sender = sender
        self._links = links

    async def __call__(self, envelope: Envelope) -> None:
        link = await self._links.issue(LinkPurpose.PASSWORD_RESET, envelope)
        if link is None:
            return
        await self._sender.send(
            EmailMessage(
                to=link.to,
                subject="Reset your portside password",
                text=(
                    "Hello,\n\nsomeone (we hope you) asked to reset the password of your portside account.\n"
                    f"Choose a new password by opening this link within {link.lifetime_text()}; it works once:\n\n"
                    f"{link.url}\n\n"
                    "If you did not ask for this, ignore this message: your password stays as it is.\n"
                ),
                key=f"{envelope.event_id}.password_reset",
                secret=True,
            )
        )
