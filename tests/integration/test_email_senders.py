"""E-mail adapters against a real SMTP server (aiosmtpd, started here) and the log."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.log_sender import LogEmailSender
from adapters.email.smtp_sender import SmtpEmailSender, SmtpSettings
from application.errors import DependencyUnavailableError
from application.shared.email import EmailMessage, EmailRejectedError
from entrypoints.providers.email import smtp_settings


class Mailbox:
    """Keeps every accepted message; refuses recipients at ``refused.example`` (550) and
    ``busy.example`` (451)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 no such user"
        if address.endswith("@busy.example"):
            return "451 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or b""))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _sender(port: int) -> SmtpEmailSender:
    return SmtpEmailSender(SmtpSettings(host="127.0.0.1", port=port, security="none", sender="portside@example.com"))


def _message(to: str = "ada@example.com", key: str = "event-1.welcome") -> EmailMessage:
    return EmailMessage(to=to, subject="Welcome", text="Hello Ada, welcome aboard.", key=key)


async def test_smtp_delivers_each_message_with_its_key_as_message_id(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    sender = _sender(port)
    await sender.send(_message())
    await sender.send(_message("grace@example.com", key="event-2.welcome"))
    assert len(box.messages) == 2
    first = box.messages[0]
    assert (first["To"], first["From"], first["Subject"]) == ("ada@example.com", "portside@example.com", "Welcome")
    assert first["Message-ID"] == "<event-1.welcome@portside>"
    assert "welcome aboard" in first.get_payload()


async def test_a_permanent_refusal_is_rejected_and_a_temporary_one_is_unavailable(
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    with pytest.raises(EmailRejectedError):
        await _sender(port).send(_message("nobody@refused.example"))
    with pytest.raises(DependencyUnavailableError):
        await _sender(port).send(_message("someone@busy.example"))
    assert box.messages == []


async def test_an_unreachable_server_is_unavailable() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=_free_port(), security="none", sender="p@example.com", timeout=2)
    with pytest.raises(DependencyUnavailableError):
        await SmtpEmailSender(settings).send(_message())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", ("mail.example", 25, "none", None, None)),
        ("smtp+starttls://ann:s%40cret@mail.example", ("mail.example", 587, "starttls", "ann", "s@cret")),
        ("smtps://mail.example:2465", ("mail.example", 2465, "tls", None, None)),
    ],
)
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    s = smtp_settings(url, "p@example.com")
    assert (s.host, s.port, s.security, s.username, s.password) == expected


@pytest.mark.parametrize(
    ("reveal", "secret", "shown"), [(True, True, True), (False, False, True), (False, True, False)]
)
async def test_the_log_sender_never_writes_a_secret_in_production(reveal: bool, secret: bool, shown: bool) -> None:
    message = EmailMessage(
        to="a@example.com", subject="Reset", text="https://x/reset?token=abc123", key="k", secret=secret
    )
    with structlog.testing.capture_logs() as logs:
        await LogEmailSender(reveal_secrets=reveal).send(message)
    [entry] = logs
    assert (entry["to"], entry["subject"]) == ("a@example.com", "Reset")
    assert ("abc123" in str(entry)) is shown
