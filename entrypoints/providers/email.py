"""Mail: SMTP when ``PORTSIDE_SMTP_URL`` is set, the log otherwise."""

from __future__ import annotations

from typing import Literal, cast
from urllib.parse import unquote, urlsplit

from dishka import Provider, Scope, provide

from adapters.email.log_sender import LogEmailSender
from adapters.email.smtp_sender import SmtpEmailSender, SmtpSettings
from application.shared.email import EmailSender
from entrypoints.settings import SMTP_SCHEMES, Settings

__all__ = ["EmailProvider", "smtp_settings"]


def smtp_settings(url: str, sender: str) -> SmtpSettings:
    """``smtp://`` (plain, port 25), ``smtp+starttls://`` (587) or ``smtps://`` (TLS, 465),
    with optional ``user:password@`` (percent-encoded) and ``:port``."""
    parts = urlsplit(url)
    security, default_port = SMTP_SCHEMES[parts.scheme]
    return SmtpSettings(
        host=parts.hostname or "localhost",
        port=parts.port or default_port,
        security=cast(Literal["none", "starttls", "tls"], security),
        sender=sender,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class EmailProvider(Provider):
    @provide(scope=Scope.APP)
    def email_sender(self, s: Settings) -> EmailSender:
        if s.smtp_url:
            return SmtpEmailSender(smtp_settings(s.smtp_url, s.email_from))
        return LogEmailSender(reveal_secrets=not s.is_production)
