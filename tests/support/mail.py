"""An ``EmailSender`` that keeps what it is given, and the token of a mailed link."""

from __future__ import annotations

import re

from application.shared.email import EmailMessage, EmailSender

__all__ = ["RecordingSender", "token_of"]

_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


class RecordingSender(EmailSender):
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def token_of(message: EmailMessage) -> str:
    """The token of the one link in ``message``."""
    [token] = _TOKEN.findall(message.text)
    return str(token)
