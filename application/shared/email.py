"""The ``EmailSender`` port: mail that leaves the system (welcome, verification, reset links)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

__all__ = ["EmailMessage", "EmailRejectedError", "EmailSender"]


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    key: str
    """Identifies the message for good (an event id and a purpose): a job that sends it again
    after a crash sends the same key, which the server or the recipient can de-duplicate by
    (the SMTP adapter makes it the ``Message-ID``)."""
    secret: bool = False
    """The text holds a secret (a reset or verification link): never written to a log in
    production."""


class EmailRejectedError(Exception):
    """The server refused this message for good (a bad recipient): sending again won't help."""


class EmailSender(Protocol):
    @abstractmethod
    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the mail system.

        Raises ``DependencyUnavailableError`` when the server cannot be reached or answers
        "try later" (the job retries), and ``EmailRejectedError`` when it refuses the
        message for good.
        """
