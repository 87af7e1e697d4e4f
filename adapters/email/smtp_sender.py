"""``SmtpEmailSender``: mail through an SMTP server (aiosmtplib), with TLS and timeouts."""

from __future__ import annotations

import email.message
import email.utils
from dataclasses import dataclass, field
from typing import Literal

import aiosmtplib

from application.errors import DependencyUnavailableError
from application.shared.email import EmailMessage, EmailRejectedError, EmailSender

__all__ = ["SmtpEmailSender", "SmtpSettings"]


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0


class SmtpEmailSender(EmailSender):
    """One connection per message (mail is rare here, and a pooled SMTP session would go
    stale). A 4xx answer or a network failure is ``DependencyUnavailableError`` (retry
    later); a 5xx refusal of the recipient or the message is ``EmailRejectedError``."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self._settings
        try:
            await aiosmtplib.send(
                _mime(message, s.sender),
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                timeout=s.timeout,
            )
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPDataError, aiosmtplib.SMTPSenderRefused) as error:
            if _temporary(error):
                raise DependencyUnavailableError("smtp") from error
            raise EmailRejectedError(str(error)) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DependencyUnavailableError("smtp") from error


def _mime(message: EmailMessage, sender: str) -> email.message.EmailMessage:
    mime = email.message.EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Message-ID"] = f"<{message.key}@portside>"
    mime["Date"] = email.utils.formatdate(usegmt=True)
    mime.set_content(message.text)
    return mime


def _temporary(error: aiosmtplib.SMTPException) -> bool:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(400 <= refused.code < 500 for refused in error.recipients)
    code = getattr(error, "code", 500)
    return 400 <= int(code) < 500
