"""The OpenAPI 3.1 document: served at ``/openapi.json``, browsable at ``/docs``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, get

# Private, but the one place that knows how Litestar maps a Struct; pinned by litestar<3.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
    OAuthFlow,
    OAuthFlows,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    PathItem,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from domain.shared.pagination import MAX_PAGE
from entrypoints.http.docs import OfflineSwaggerPlugin, docs_router
from entrypoints.http.request_context import MAX_HEADER_BYTES

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

__all__ = ["ClosedStructSchemaPlugin", "finish_openapi", "openapi_config", "openapi_json"]

_DESCRIPTION = """\
portside's HTTP API (v1). Errors are RFC 9457 problem details (`application/problem+json`);
every response carries `X-Request-ID`.

Authenticate with `POST /api/v1/auth/login` and send the access token as
`Authorization: Bearer <token>`. In this page, "Authorize" uses the OAuth2 password flow
against `/api/v1/auth/token` with your e-mail as the username.

Choices made where the contract is silent:
- `POST /auth/register` answers 201 with the private view and no `Location` (the account is
  reachable as `/auth/me` once logged in).
- Registration checks the e-mail first, then the password policy, then the display name, and
  reports the first field that fails.
- A wrong `current_password` on `POST /auth/password` is a 422 field error (not 401, which
  would tell a client its token is bad) and counts towards the e-mail's lockout.
- `DELETE /auth/sessions/{id}` on an already revoked session of one's own answers 204.
- `last_used_at` of a session is the time of its login or latest refresh.
- Token responses carry `Cache-Control: no-store`.
- Todos: when both `If-Match` and a body `version` are sent, `If-Match` wins. `If-Match` with
  several entity tags is read by its first strong numeric tag; a weak or unparsable one
  matches nothing (412). `If-None-Match` compares weakly, so `W/"3"` matches version 3.
  412 and 428 problems carry `current_version` and the current `ETag`.
- Todos: `toggle` and `DELETE` may omit the version (or send `If-Match: *`); they then apply
  to whatever the current version is, retrying internally on a concurrent write.
- Lists default to `sort=-created_at`; ties break by id; `due_at` sorts undated todos last.
- Lists take `page` up to MAX_PAGE; a larger one is a 422 field error.
- Todos: `due_at` needs an offset (`Z` or `+05:00`; without one, 422); it is stored and given
  back in UTC.
- Titles, display names and e-mail addresses must not contain control characters (U+0000 to
  U+001F, U+007F); descriptions must not contain NUL. Either is a 422 field error.
- `POST /auth/token` is an OAuth2 form: unknown form fields (`client_id`, ...) are ignored, as
  RFC 6749 §3.2 requires. JSON bodies refuse unknown fields (`additionalProperties: false`).
- A body nested deeper than the JSON decoder allows (about 1,000 levels) is a 400.
- Request headers over MAX_HEADER_BYTES bytes in total are refused with 431.
- Every response to a request with an `Authorization` header carries `Cache-Control: no-store`.
- Logins: each attempt is recorded before its password is checked, so a burst of attempts
  for one e-mail checks at most the lockout threshold; while that many are in flight, more
  get 429 with `Retry-After: 1` (a lock gives its remaining seconds instead). A success
  forgets only the failures recorded before it.
- Registrations are throttled per client address and overall (429 with `Retry-After`);
  client addresses count per IPv6 /64, and requests without a usable address share one
  bucket.
- The API rate limit (`PORTSIDE_API_RATE_LIMIT`, 600 a minute by default, fixed windows)
  counts every `/api/v1` request but the bot webhook, the WebSocket and `OPTIONS`, per user of
  a valid access token, else per client address. Counted responses carry
  `RateLimit-Policy: "api";q=600;w=60` and `RateLimit: "api";r=<left>;t=<seconds>`; past it,
  429 with `Retry-After`. While Redis does not answer the limit fails open, without the
  `RateLimit` headers.
- Password hashing has a bounded queue: when it is full, login, token, registration and
  password change answer 503 with `Retry-After: 1`; a shed login does not count as a failure.
- While the database is unreachable, any operation answers 503 with `Retry-After`.
- `/health/ready` reports `database` and `redis`, each `ok`, `down` or `disabled` (not
  configured); a disabled dependency does not make the process unready.
- Responses of at least 1 KiB in a textual type (JSON, problems, NDJSON, CSV) are compressed
  when `Accept-Encoding` allows: `br`, else `gzip`, with `Vary: Accept-Encoding`; exports stay
  streamed. A response with a strong ETag (a versioned resource) is never compressed, so its
  ETag is always `"<version>"`; images are served as stored.

## Realtime: `/api/v1/ws` (WebSocket)

OpenAPI describes no WebSocket, so the socket is described here.
- Authenticate with a first text message `{"type": "auth", "token": "<access token>"}`
  within 5 s, or with `?token=<access token>` in the URL (redacted from every log line). The
  handshake is always accepted; success is acknowledged with
  `{"type": "auth.ok", "data": {"user_id": "<uuid>", "expires_at": "<RFC 3339 UTC>"}}`.
- Server events are JSON text messages `{"type": "...", "data": {...}}`:
  `todo.changed` to the todo's owner (data: the todo as `GET /api/v1/todos/{id}` shows it,
  or `{"id", "deleted": true}`), `post.published` to everyone (data: the post as
  `GET /api/v1/posts/{id}` shows it), `campaign.progress` to admins (data:
  `{"id", "status", "stats": {"total", "pending", "sent", "failed"}}`). Only committed
  changes are announced, at least once: key on `version` or `id`.
- Close codes: 4401 when no valid access token came in time (missing, invalid, empty
  `?token=`, a refresh token, another first message), when the session is revoked (within
  1 s), when the access token expires, and when this process may have missed events (its
  fan-out connection was lost, or it fell behind), a revocation perhaps among them:
  authenticate again (refresh the token if it was refused). 1008 when the client stops
  reading (256 messages waiting). 1013 when the database cannot be reached at
  authentication: try again later. From the server itself: 1009 for a message over 64 KiB,
  1011 when a ping goes unanswered.
- What the client sends after `auth.ok` is read and dropped. The server pings every
  `PORTSIDE_WS_PING_INTERVAL` seconds (20) and drops a peer that does not answer.
""".replace("MAX_PAGE", f"{MAX_PAGE:,}").replace("MAX_HEADER_BYTES", f"{MAX_HEADER_BYTES:,}")


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Documents a Struct with ``forbid_unknown_fields=True`` as ``additionalProperties: false``,
    which is what decoding it does. Litestar's own Struct plugin leaves the key out (open)."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return super().is_plugin_supported_field(field_definition) and bool(
            field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


def _operations_with_optional_body(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(path, method, handler) of every handler whose body may be left out."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_data_field
            if data is not None and (data.is_optional or data.has_default):
                yield from ((route.path_format, method.lower(), handler) for method in handler.http_methods)


_TRANSPORT_PROBLEMS = {"431": f"Request headers over {MAX_HEADER_BYTES:,} bytes in total"}
_RATE_LIMIT_HEADERS: dict[str, Any] = {
    "RateLimit-Policy": OpenAPIHeader(
        description='The API rate limit\'s policy: `"api";q=<requests>;w=<window seconds>`',
        schema=Schema(type=OpenAPIType.STRING),
    ),
    "RateLimit": OpenAPIHeader(
        description='What is left of it: `"api";r=<requests left>;t=<seconds until the window ends>` '
        "(absent while the limiter's store does not answer)",
        schema=Schema(type=OpenAPIType.STRING),
    ),
}
_RETRY_AFTER = OpenAPIHeader(description="Seconds until the window ends", schema=Schema(type=OpenAPIType.INTEGER))
_NOT_RATE_LIMITED = {("/api/v1/bot/webhook", "post")}
_BODY_PROBLEMS = {
    "413": "The body is larger than allowed",
    "415": "The body is not in the media type this operation reads",
}


STREAMS = "streams"
"""A handler's ``opt`` key: ``{media type: description}`` of the bodies its 200 streams
(``Stream`` responses, which Litestar documents as JSON)."""


def _streaming_operations(app: Litestar) -> Iterator[tuple[str, str, dict[str, str]]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if STREAMS in handler.opt:
                    yield from ((route.path_format, m.lower(), handler.opt[STREAMS]) for m in handler.http_methods)


def _operations(paths: dict[str, PathItem]) -> Iterator[Operation]:
    for item in paths.values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                yield operation


def finish_openapi(app: Litestar) -> None:
    """Correct the generated document where it says other than the app does.

    - Litestar marks every request body required, also an optional one (``JSONBody[X | None]
      = None``).
    - The problems every request can meet before its handler (431; 413 and 415 for a body)
      are listed with the operation's own, in the same problem shape as its 400.
    - A streamed 200 (export, file download) is in the media types the handler names under
      ``opt[STREAMS]``, not JSON.
    """
    paths = app.openapi_schema.paths or {}
    for path, method, media_types in _streaming_operations(app):
        operation = getattr(paths.get(path), method, None)
        if isinstance(operation, Operation) and operation.responses is not None:
            description = "; ".join(f"{kind}: {text}" for kind, text in media_types.items())
            operation.responses["200"] = OpenAPIResponse(
                description=description,
                content={kind: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)) for kind in media_types},
            )
    for path, method, _ in _operations_with_optional_body(app):
        operation = getattr(paths.get(path), method, None)
        if isinstance(operation, Operation) and isinstance(operation.request_body, RequestBody):
            operation.request_body.required = False
    for operation in _operations(paths):
        problem = (operation.responses or {}).get("400")
        if not isinstance(problem, OpenAPIResponse) or operation.responses is None:
            continue
        extra = {**_TRANSPORT_PROBLEMS, **(_BODY_PROBLEMS if operation.request_body is not None else {})}
        for status, description in extra.items():
            operation.responses.setdefault(status, dataclasses.replace(problem, description=description))
    for operation in _rate_limited_operations(paths):
        _document_rate_limit(operation)


def _rate_limited_operations(paths: dict[str, PathItem]) -> Iterator[Operation]:
    """The operations the API rate limit counts (``entrypoints.http.rate_limit``)."""
    for path, item in paths.items():
        if not path.startswith("/api/v1/"):
            continue
        for method in ("get", "put", "post", "patch", "delete"):
            operation = getattr(item, method, None)
            if isinstance(operation, Operation) and (path, method) not in _NOT_RATE_LIMITED:
                yield operation


def _document_rate_limit(operation: Operation) -> None:
    """Its headers on every response, and its 429 (in the shape of the operation's 400)."""
    responses = operation.responses
    if responses is None:
        return
    for status, response in list(responses.items()):
        if isinstance(response, OpenAPIResponse):
            headers = {**(response.headers or {}), **_RATE_LIMIT_HEADERS}
            responses[status] = dataclasses.replace(response, headers=headers)
    problem = responses.get("400")
    if isinstance(problem, OpenAPIResponse) and "429" not in responses:
        responses["429"] = dataclasses.replace(
            problem,
            description="Past the API rate limit (`PORTSIDE_API_RATE_LIMIT`), or a throttle",
            headers={**_RATE_LIMIT_HEADERS, "Retry-After": _RETRY_AFTER},
        )


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="portside",
        version="1.0.0",
        description=_DESCRIPTION,
        openapi_router=docs_router(),
        render_plugins=[OfflineSwaggerPlugin()],
        components=Components(
            security_schemes={
                "BearerAuth": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                "OAuth2Password": SecurityScheme(
                    type="oauth2",
                    flows=OAuthFlows(password=OAuthFlow(token_url="/api/v1/auth/token", scopes={})),
                ),
            }
        ),
    )


@get("/openapi.json", include_in_schema=False, media_type="application/vnd.oai.openapi+json")
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.app.openapi_schema.to_schema()
