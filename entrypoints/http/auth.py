"""Who is calling: the ``Actor`` of a request (``Actor | None`` where anonymous callers are
welcome), resolved by dishka from its bearer token."""

from __future__ import annotations

from typing import Any, cast

from dishka import Provider, Scope, provide
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from application.errors import UnauthenticatedError
from application.identity.authenticate_access_token import AuthenticateAccessToken
from application.identity.session_tokens import ClientInfo
from application.shared.actor import Actor
from application.shared.events import Provenance
from entrypoints.http.request_context import REQUEST_ID_STATE

__all__ = [
    "BEARER_SECURITY",
    "OPTIONAL_BEARER_SECURITY",
    "READS_FIRST",
    "TRACE_PARENT_STATE",
    "HttpProvider",
    "authenticated_first",
    "bearer_token",
    "client_info",
]

# Either scheme works on every protected operation; the OAuth2 one drives the docs UI's login.
BEARER_SECURITY: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"OAuth2Password": []}]
OPTIONAL_BEARER_SECURITY: list[dict[str, list[str]]] = [{}, *BEARER_SECURITY]
"""Anonymous callers welcome; a token, when sent, must be valid (401 otherwise)."""
READS_FIRST: dict[str, object] = {"session_check": "with_first_read"}
"""``opt`` of an operation whose handler calls, before anything else, a use-case that reads
through the request's unit of work first, or only inserts: the caller's session is then
checked with that read, or with the inserts (which then insert only if it holds), in the
same round trip, rather than by a query of its own (README, Performance). A revoked session
still gets 401 and no data: the unit of work gives out nothing, and writes nothing, before
the check held. Input the handler or use-case refuses before its first
statement (a title too long) is answered as such (400/422), as a body Litestar refuses is
on every operation."""
TRACE_PARENT_STATE = "trace_parent"
"""The request span's W3C ``traceparent`` in the request's state, when tracing is on
(``entrypoints.http.tracing``); an opaque string from here on."""


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def client_info(request: Request[Any, Any, Any]) -> ClientInfo:
    return ClientInfo(
        user_agent=request.headers.get("user-agent"),
        ip=request.client.host if request.client else None,
    )


class HttpProvider(Provider):
    # dishka keys the request by the bare class, so the annotations stay unparametrized.

    @provide(scope=Scope.REQUEST, override=True)
    def provenance(self, request: Request) -> Provenance:  # type: ignore[type-arg]
        """The request id (RequestContext) and trace context (TracingMiddleware, when
        tracing is on) for the events this request commits, and the
        client's address and user agent for its audit entries. Background
        work in the server process (the in-process jobs) opens scopes with ``None`` for
        the request: its events have no request id."""
        if cast(object, request) is None:
            return Provenance()
        client = client_info(request)  # as the login throttle and the sessions see the client
        state = request.scope.get("state", {})
        return Provenance(
            request_id=state.get(REQUEST_ID_STATE),
            ip=client.ip,
            user_agent=client.user_agent,
            trace_parent=state.get(TRACE_PARENT_STATE),
        )

    @provide(scope=Scope.REQUEST)
    async def optional_actor(
        self,
        request: Request,  # type: ignore[type-arg]
        authenticate: AuthenticateAccessToken,
        provenance: Provenance,
    ) -> Actor | None:
        """The caller of an operation anonymous callers may use too (``FromDishka[Actor | None]``).

        - No ``Authorization`` header: ``None``, an anonymous caller.
        - Any ``Authorization`` header must prove who is calling: a malformed, invalid,
          expired or revoked token, or another scheme, is ``UnauthenticatedError`` (401), not
          a silent downgrade to anonymous. A client whose token lapsed learns so at once
          instead of being shown less (no drafts of its own, say) without a word.

        A known caller becomes the provenance of the events this request commits.
        """
        authorization = request.headers.get("authorization")
        if authorization is None:
            return None
        token = bearer_token(authorization)
        if token is None:
            raise UnauthenticatedError()
        if request.route_handler.opt.get("session_check") == READS_FIRST["session_check"]:
            actor = await authenticate.with_next_read(token)
        else:
            actor = await authenticate(token)
        provenance.actor_id = actor.user_id
        return actor

    @provide(scope=Scope.REQUEST)
    async def actor(self, caller: Actor | None) -> Actor:
        """The caller of an operation that needs one (``FromDishka[Actor]``): as
        ``optional_actor``, and no ``Authorization`` header is ``UnauthenticatedError`` too."""
        if caller is None:
            raise UnauthenticatedError()
        return caller


async def authenticated_first(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for handlers with a large body (uploads): resolve the caller (401 otherwise)
    before the body is read, so an anonymous client cannot make the server take in
    megabytes first. The actor is cached in the request's scope for the handler."""
    await connection.state.dishka_container.get(Actor)
