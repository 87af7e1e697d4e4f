"""List the caller's live sessions."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.ports import IdentityUnitOfWork
from application.shared.actor import Actor
from application.shared.ports import Clock
from domain.identity.session import Session


@dataclass(frozen=True, slots=True)
class SessionView:
    session: Session
    current: bool


class ListSessions:
    """The actor's live sessions, newest first, with the one making the call marked ``current``."""

    def __init__(self, uow: IdentityUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor) -> list[SessionView]:
        async with self._uow as uow:
            sessions = await uow.sessions.list_live(actor.user_id, self._clock.now())
        return [SessionView(session=s, current=s.id == actor.session_id) for s in sessions]
