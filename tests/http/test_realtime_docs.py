"""The OpenAPI document describes ``/api/v1/ws`` (OpenAPI has no WebSocket object): what a
client needs to speak to it must be in the description, and must be what the code does."""

from __future__ import annotations

import re
from typing import Any

from entrypoints.http.realtime import AUTH_TIMEOUT, TRY_AGAIN_LATER
from entrypoints.realtime.announcer import _ANNOUNCE
from entrypoints.realtime.hub import OUTBOX_LIMIT, POLICY_VIOLATION, UNAUTHORIZED


def _realtime_section(openapi: dict[str, Any]) -> str:
    description: str = openapi["info"]["description"]
    return description[description.index("## Realtime") :]


async def test_every_close_code_the_socket_uses_is_documented_and_no_other(openapi: dict[str, Any]) -> None:
    section = _realtime_section(openapi)
    documented = {int(code) for code in re.findall(r"\b(1\d{3}|4\d{3})\b", section)}
    uvicorn = {1009, 1011}  # a message over the size limit, a ping unanswered
    assert documented == {UNAUTHORIZED, POLICY_VIOLATION, TRY_AGAIN_LATER, *uvicorn}


async def test_the_server_events_and_the_handshake_are_documented(openapi: dict[str, Any]) -> None:
    section = _realtime_section(openapi)
    announced = {name for name in _ANNOUNCE if "." in name and not name.startswith(("session.", "user."))}
    assert announced == {"todo.changed", "post.published", "campaign.progress"}
    for name in (*announced, "auth.ok", '"type": "auth"', "?token=", "/api/v1/ws"):
        assert name in section, name
    assert f"within {AUTH_TIMEOUT:g} s" in section
    assert f"{OUTBOX_LIMIT} messages waiting" in section
