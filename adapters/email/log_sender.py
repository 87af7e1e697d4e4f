"""``LogEmailSender``: mail written to the log instead of sent (the default, with no SMTP)."""

from __future__ import annotations

import structlog

from application.shared.email import EmailMessage, EmailSender

__all__ = ["LogEmailSender"]

_log = structlog.get_logger("portside.email")


class LogEmailSender(EmailSender):
    """Logs each message. With ``reveal_secrets`` off (production) a message marked
    ``secret`` is logged without its text, so no reset or verification token reaches a log."""

    def __init__(self, *, reveal_secrets: bool) -> None:
        self._reveal = reveal_secrets

    async def send(self, message: EmailMessage) -> None:
        text = message.text if self._reveal or not message.secret else f"<{len(message.text)} characters withheld>"
        _log.info("email", to=message.to, subject=message.subject, key=message.key, text=text)
