"""Realtime ports: the server events sockets receive, who may see them, the fan-out between
API processes (``Broadcaster``), and what each committed event announces (``Announcer``).

The relay announces committed events only (it reads the outbox), so a rolled-back change
is never announced."""

from __future__ import annotations

import enum
from abc import abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from application.shared.events import Envelope

__all__ = ["Announcer", "Audience", "Broadcaster", "Gap", "Notice", "Revocation", "Signal"]


class Audience(enum.StrEnum):
    EVERYONE = "everyone"
    USER = "user"
    """One user's sockets (``Notice.user_id``)."""
    ADMINS = "admins"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A server event on its way to sockets: ``{"type", "data"}`` for its audience."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    audience: Audience
    user_id: UUID | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Revocation:
    """Sockets to close with 4401: one session's (``session_id``), or every one of a user's
    (``session_id`` None: the account was deleted, deactivated or changed role)."""

    user_id: UUID
    session_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    """Signals may have been lost here (the fan-out's connection was lost, or this listener
    fell behind): a revocation among them must not leave a socket open, so every socket
    is closed with 4401 and its client reconnects, authenticating afresh."""


Signal = Notice | Revocation | Gap


class Broadcaster(Protocol):
    """Fans signals out to every API process: what one publishes, each ``listen``er in every
    process receives, in publication order per publisher. Delivery is at most once per
    listener and not kept for listeners that come later (a socket that reconnects fetches
    the state it missed over HTTP)."""

    @abstractmethod
    async def publish(self, signals: Sequence[Signal]) -> None:
        """Raises ``DependencyUnavailableError`` when the fan-out store does not answer."""

    @abstractmethod
    def listen(self) -> AsyncIterator[Signal]:
        """The signals published from now on, until the iterator is closed. A listener
        whose store connection breaks reconnects by itself; signals published meanwhile are
        lost to it, and it yields a ``Gap`` to say so."""


class Announcer(Protocol):
    """What a committed event announces: the notices for sockets (their JSON shape is the
    API's, so the HTTP layer provides this) and the revocations it implies."""

    @abstractmethod
    def __call__(self, envelope: Envelope) -> Sequence[Signal]: ...
