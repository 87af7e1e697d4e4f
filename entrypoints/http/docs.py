"""The interactive docs at ``/docs``: Swagger UI from the installed ``swagger_ui_bundle``
package (no CDN, so the page works offline), under a strict Content-Security-Policy.

The page holds no inline script or style: Swagger UI starts from ``/docs/assets/init.js``.
Assets are named in links with their content digest (``?v=``), so they are cached for a
year; the page itself is revalidated every time, so an upgrade is seen at once.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import brotli  # type: ignore[import-untyped]  # ships no types
import swagger_ui_bundle
from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath, HeaderParameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from entrypoints.http.compression import BROTLI_QUALITY, GZIP_LEVEL, MINIMUM_SIZE, chosen_coding
from entrypoints.http.conditional import IfNoneMatch, weakly_matches

__all__ = ["ASSETS_PATH", "DOCS_CSP", "DOCS_PATH", "OfflineSwaggerPlugin", "docs_router"]

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""No inline script or style, nothing from another origin; ``data:`` images are the icons
Swagger UI's stylesheet embeds. Swagger UI 5 sets styles only through the DOM (allowed)."""

_YEAR = 365 * 24 * 3600
_AcceptEncoding = Annotated[str | None, HeaderParameter(name="Accept-Encoding", required=False)]

# Swagger UI's own initializer reads the document from a URL and sets no validator: the
# default validator (validator.swagger.io) would be a request leaving the machine.
_INIT_JS = b"""\
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    media_type: str
    digest: str

    @classmethod
    def of(cls, body: bytes, media_type: str) -> _Asset:
        return cls(body, media_type, hashlib.sha256(body).hexdigest()[:16])


def _vendor(name: str) -> bytes:
    return Path(str(swagger_ui_bundle.swagger_ui_path), name).read_bytes()


@cache
def _assets() -> dict[str, _Asset]:
    """The whitelist: nothing else under ``/docs/assets`` is served. Read on first use, kept."""
    return {
        "swagger-ui-bundle.js": _Asset.of(_vendor("swagger-ui-bundle.js"), "text/javascript"),
        "swagger-ui.css": _Asset.of(_vendor("swagger-ui.css"), "text/css"),
        "favicon-32x32.png": _Asset.of(_vendor("favicon-32x32.png"), "image/png"),
        "init.js": _Asset.of(_INIT_JS, "text/javascript"),
    }


@cache
def _encoded(name: str, coding: str) -> bytes:
    body = _assets()[name].body
    return brotli.compress(body, quality=BROTLI_QUALITY) if coding == "br" else gzip.compress(body, GZIP_LEVEL)


def _url(name: str) -> str:
    return f"{ASSETS_PATH}/{name}?v={_assets()[name].digest}"


@cache
def _page(title: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{_url("favicon-32x32.png")}">
<link rel="stylesheet" href="{_url("swagger-ui.css")}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{_url("swagger-ui-bundle.js")}"></script>
<script src="{_url("init.js")}"></script>
</body>
</html>
""".encode()


class OfflineSwaggerPlugin(OpenAPIRenderPlugin):
    """Renders the ``/docs`` page; its assets come from ``docs_asset``."""

    def __init__(self) -> None:
        super().__init__(path="/", media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return _page(f"{openapi_schema['info']['title']} API")


@get(
    "/assets/{asset:str}",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(public=True, max_age=_YEAR, immutable=True),
)
def docs_asset(
    asset: FromPath[str], if_none_match: IfNoneMatch = None, accept_encoding: _AcceptEncoding = None
) -> Response[bytes]:
    """One whitelisted asset. Its ETag is weak (``W/"<digest>"``): the bytes on the wire
    differ by content coding, the asset does not. Large ones go out compressed as the client
    accepts, each coding compressed once per process (the bundle costs ~50 ms of CPU)."""
    found = _assets().get(asset)
    if found is None:
        raise NotFoundException(detail="No such docs asset.")
    headers = {"ETag": f'W/"{found.digest}"'}
    if found.media_type.startswith("text/") and len(found.body) >= MINIMUM_SIZE:
        headers["Vary"] = "Accept-Encoding"
    else:
        accept_encoding = None
    if weakly_matches(if_none_match, found.digest):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    coding = chosen_coding(accept_encoding or "")
    if coding is None:
        return Response(found.body, media_type=found.media_type, headers=headers)
    headers["Content-Encoding"] = coding
    return Response(_encoded(asset, coding), media_type=found.media_type, headers=headers)


def docs_router() -> Router:
    """``/docs`` (the page), its assets, and Litestar's ``/docs/openapi.json``: each with the
    docs CSP, and revalidated on every use unless a handler says otherwise."""
    return Router(
        path=DOCS_PATH,
        route_handlers=[docs_asset],
        include_in_schema=False,
        response_headers=[ResponseHeader(name="Content-Security-Policy", value=DOCS_CSP)],
        cache_control=CacheControlHeader(no_cache=True),
    )
