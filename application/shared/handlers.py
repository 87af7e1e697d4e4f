"""The ``EventHandler`` port: work a context does after one of its events was committed."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Protocol

from application.shared.events import Envelope


class EventHandler(Protocol):
    """Runs in a background job for each committed event named in ``events``.

    It may run more than once for one event (a worker killed after the effect, before the
    job was recorded done): it must have the effect of once. The job records ``name`` as
    done for the event once it returns, so a redelivery skips it; an effect outside the
    database also carries a key derived from the event id (a ``Message-ID``) for the
    window between the effect and that record.
    """

    name: ClassVar[str]
    """Stable: it keys the "done" record of each event this handler processed."""
    events: ClassVar[frozenset[str]]

    @abstractmethod
    async def __call__(self, envelope: Envelope) -> None: ...
