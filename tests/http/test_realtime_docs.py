"""The OpenAPI document describes ``/api/v1/ws`` (OpenAPI has no WebSocket object): what a
client needs to speak to it must be in the description, and must be what the code does."""

from __future__ import annotations

import re

from entrypoints.http.realtime import AUTH_TIMEOUT, TRY_AGAIN_LATER
from entrypoints.realtime.announcer import _ANNOUNCE
from entrypoints.realtime.hub import OUTBOX_LIMIT, POLICY_VIOLATION, RECONNECT, UNAUTHORIZED
from tests.http.conftest import Api


async def _realtime_section(api: Api) -> str:
    description = (await api.client.get("/openapi.json")).json()["info"]["description"]
    section = description[description.index("## Realtime") :]
    return section


async def test_every_close_code_the_socket_uses_is_documented_and_no_other(api: Api) -> None:
    section = await _realtime_section(api)
    documented = {int(code) for code in re.findall(r"\b(1\d{3}|4\d{3})\b", section)}
    assert documented == {UNAUTHORIZED, POLICY_VIOLATION, RECONNECT, TRY_AGAIN_LATER}


async def test_the_server_events_and_the_handshake_are_documented(api: Api) -> None:
    section = await _realtime_section(api)
    announced = {name for name in _ANNOUNCE if "." in name and not name.startswith(("session.", "user."))}
    assert announced == {"todo.changed", "post.published", "campaign.progress"}
    for name in (*announced, "auth.ok", '"type": "auth"', "?token=", "/api/v1/ws"):
        assert name in section, name
    assert f"within {AUTH_TIMEOUT:g} s" in section
    assert f"{OUTBOX_LIMIT} messages waiting" in section
