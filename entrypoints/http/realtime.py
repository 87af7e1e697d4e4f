"""``/api/v1/ws``: authenticated WebSockets fed by committed events (API.md "Realtime").

The handshake is always accepted. The access token comes in ``?token=`` or in a first
message ``{"type": "auth", "token": ...}`` within 5 s; without a valid one the socket is
closed with 4401. Authentication runs in a request scope of its own, closed before the
socket is served: no database connection lives as long as a socket. The socket is then
registered with the process's ``Hub`` and closed with 4401 when its session is revoked or
its token expires, and with 1008 when it stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import msgspec
from dishka import AsyncContainer
from litestar import Request, WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from application.errors import DependencyUnavailableError, UnauthenticatedError
from application.identity.authenticate_access_token import AuthenticateAccessToken
from application.shared.actor import Actor
from application.shared.ports import Clock
from entrypoints.realtime.hub import UNAUTHORIZED, Client, Hub

__all__ = ["HUB_STATE", "realtime_socket"]

HUB_STATE = "realtime_hub"
AUTH_TIMEOUT = 5.0
CLOSE_TIMEOUT = 2.0
TRY_AGAIN_LATER = 1013


class _Auth(msgspec.Struct):
    type: str
    token: str


@websocket("/ws", name="realtime")
async def realtime_socket(socket: WebSocket[Any, Any, Any]) -> None:
    query_token = socket.query_params.get("token")
    socket.scope["query_string"] = b""  # the server logs the path with its query: never the token
    await socket.accept()
    # A ``?token=`` given empty is a bad token, not an invitation to send the auth message.
    token = query_token if query_token is not None else await _first_message_token(socket)
    container: AsyncContainer = socket.app.state.dishka_container
    try:
        if not token:
            raise UnauthenticatedError()
        actor, expires_at = await _authenticate(container, token)
        await _registered(socket, container, token, actor, expires_at)
    except UnauthenticatedError:
        await _close(socket, UNAUTHORIZED, "no valid access token: it is missing, invalid, expired or revoked")
    except DependencyUnavailableError:
        await _close(socket, TRY_AGAIN_LATER, "try again later")
    except (WebSocketDisconnect, OSError):
        pass


async def _registered(
    socket: WebSocket[Any, Any, Any], container: AsyncContainer, token: str, actor: Actor, expires_at: datetime
) -> None:
    """Serve the socket as one of the hub's until it ends."""
    hub: Hub = socket.app.state[HUB_STATE]
    client = Client(user_id=actor.user_id, session_id=actor.session_id, admin=actor.is_admin)
    hub.add(client)
    try:
        # A revocation relayed between the first check and add() passed this socket by.
        await _authenticate(container, token)
        ok = {"type": "auth.ok", "data": {"user_id": str(actor.user_id), "expires_at": expires_at}}
        await socket.send_text(msgspec.json.encode(ok).decode())
        await _serve(socket, client, expires_at, await container.get(Clock))
    finally:
        hub.remove(client)


async def _first_message_token(socket: WebSocket[Any, Any, Any]) -> str | None:
    try:
        async with asyncio.timeout(AUTH_TIMEOUT):
            raw = await socket.receive_data(mode="text")
        message = msgspec.json.decode(raw, type=_Auth)
    except (TimeoutError, WebSocketDisconnect, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return message.token if message.type == "auth" and message.token else None


async def _authenticate(container: AsyncContainer, token: str) -> tuple[Actor, datetime]:
    async with container(context={Request: None}) as scope:
        authenticate = await scope.get(AuthenticateAccessToken)
        return await authenticate.until_expiry(token)


async def _serve(socket: WebSocket[Any, Any, Any], client: Client, expires_at: datetime, clock: Clock) -> None:
    """Until the client leaves, the socket fails, or the hub closes it (revoked, too slow),
    or the token expires."""
    delay = max(0.0, (expires_at - clock.now()).total_seconds())
    expiry = asyncio.get_running_loop().call_later(delay, client.close, UNAUTHORIZED, "the access token expired")
    tasks = [
        asyncio.ensure_future(_ignore_incoming(socket)),
        asyncio.ensure_future(client.write(socket.send_text)),
        asyncio.ensure_future(client.closed.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        expiry.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if client.closing is not None:
        await _close(socket, client.closing.code, client.closing.reason)


async def _ignore_incoming(socket: WebSocket[Any, Any, Any]) -> None:
    """Read (and drop) what the client sends, so its disconnect is seen at once."""
    while True:
        await socket.receive_data(mode="text")


async def _close(socket: WebSocket[Any, Any, Any], code: int, reason: str) -> None:
    """Close with ``code``, within ``CLOSE_TIMEOUT``: a client that does not read may never
    take the close frame; returning then ends the connection anyway."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await socket.close(code=code, reason=reason)
