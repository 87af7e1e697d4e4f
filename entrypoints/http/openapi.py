"""The OpenAPI 3.1 document: served at ``/openapi.json``, browsable at ``/docs``."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme

__all__ = ["openapi_config", "openapi_json"]

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
"""


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="portside",
        version="1.0.0",
        description=_DESCRIPTION,
        path="/docs",
        render_plugins=[SwaggerRenderPlugin(version="5.17.14", path="/")],
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
