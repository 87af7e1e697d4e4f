"""``ApiAnnouncer``: committed events as the server events of ``/api/v1/ws`` (API.md "Realtime").

The data of a notice has the shape the HTTP API gives the same thing (a todo as
``GET /todos/{id}`` shows it, a post as ``GET /posts/{id}``), built from the event's own
payload: the events carry the state their change left, so announcing needs no read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import structlog

from application.shared.events import Envelope
from application.shared.realtime import Announcer, Audience, Notice, Revocation, Signal
from entrypoints.http.files.schemas import file_url

__all__ = ["ApiAnnouncer"]

Payload = Mapping[str, Any]

_log = structlog.get_logger("portside.realtime")


def _instant(value: str | None) -> str | None:
    """An instant as the HTTP API writes it (RFC 3339, ``Z``)."""
    return None if value is None else str(msgspec.to_builtins(datetime.fromisoformat(value)))


def _todo_changed(p: Payload) -> Sequence[Signal]:
    owner = UUID(p["owner_id"])
    if p["change"] == "deleted":
        data: dict[str, Any] = {"id": p["todo_id"], "deleted": True}
    else:
        data = {
            "id": p["todo_id"],
            "title": p["title"],
            "description": p["description"],
            "completed": p["completed"],
            "due_at": _instant(p["due_at"]),
            "version": p["version"],
            "created_at": _instant(p["created_at"]),
            "updated_at": _instant(p["updated_at"]),
        }
    return [Notice(type="todo.changed", data=data, audience=Audience.USER, user_id=owner)]


def _post_published(p: Payload) -> Sequence[Signal]:
    key = p["image_key"]
    data = {
        "id": p["post_id"],
        "slug": p["slug"],
        "title": p["title"],
        "content": p["content"],
        "tags": list(p["tags"]),
        "published": True,
        "author_id": p["author_id"],
        "image_url": None if key is None else file_url(key),
        "version": p["version"],
        "created_at": _instant(p["created_at"]),
        "updated_at": _instant(p["updated_at"]),
    }
    return [Notice(type="post.published", data=data, audience=Audience.EVERYONE)]


def _campaign_progress(p: Payload) -> Sequence[Signal]:
    data = {"id": p["campaign_id"], "status": p["status"], "stats": dict(p["stats"])}
    return [Notice(type="campaign.progress", data=data, audience=Audience.ADMINS)]


def _session_revoked(p: Payload) -> Sequence[Signal]:
    return [Revocation(user_id=UUID(p["user_id"]), session_id=UUID(p["session_id"]))]


def _every_session(p: Payload) -> Sequence[Signal]:
    """The account is gone or closed, or its role changed (an admin's sockets may receive
    what a user's may not): every socket of it closes, and its client reconnects if it can."""
    return [Revocation(user_id=UUID(p["user_id"]))]


_ANNOUNCE: dict[str, Callable[[Payload], Sequence[Signal]]] = {
    "todo.changed": _todo_changed,
    "post.published": _post_published,
    "campaign.progress": _campaign_progress,
    "session.revoked": _session_revoked,
    "user.deleted": _every_session,
    "user.deactivated": _every_session,
    "user.role_changed": _every_session,
}


class ApiAnnouncer(Announcer):
    """Never raises: an event it cannot read (a row committed before its event carried the
    state it announces) is logged and announces nothing, so the relay goes on."""

    def __call__(self, envelope: Envelope) -> Sequence[Signal]:
        announce = _ANNOUNCE.get(envelope.name)
        if announce is None:
            return ()
        try:
            return announce(envelope.payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            _log.warning("realtime_event_unreadable", name=envelope.name, event_id=str(envelope.event_id))
            return ()
