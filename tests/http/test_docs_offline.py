"""``/docs`` without a browser: the page's CSP and references, and the assets it names
(served from the installed Swagger UI, whitelisted, cached for a year).

tests/e2e/test_docs_browser.py checks that the page actually renders under this policy.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

import brotli  # type: ignore[import-untyped]  # ships no types
import pytest

from entrypoints.http.docs import DOCS_CSP
from tests.http.conftest import Api
from tests.http.helpers import assert_problem

_REFERENCE = re.compile(r'(?:src|href)="([^"]*)"')
_ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "init.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def _directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


async def test_the_docs_page_carries_a_strict_csp_and_no_inline_code(api: Api) -> None:
    response = await api.client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == DOCS_CSP
    directives = _directives(DOCS_CSP)
    assert directives["default-src"] == "default-src 'none'"
    assert directives["script-src"] == "script-src 'self'"
    assert directives["style-src"] == "style-src 'self'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["cache-control"] == "no-cache"
    html = response.text
    assert len(re.findall(r"<script\b", html)) == len(re.findall(r"<script src=", html)) == 2
    assert "<style" not in html and "style=" not in html


async def test_the_docs_page_names_no_other_host(api: Api) -> None:
    html = (await api.client.get("/docs")).text
    assert not re.search(r"(?i)\b(?:https?:)?//", html), "the page names another host"
    references = _REFERENCE.findall(html)
    assert {ref.split("?")[0].rsplit("/", 1)[1] for ref in references} == set(_ASSET_TYPES)
    assert all(ref.startswith("/docs/assets/") and "?v=" in ref for ref in references), references
    init = (await api.client.get("/docs/assets/init.js")).text
    assert '"/openapi.json"' in init and "validatorUrl: null" in init and "//" not in init


async def test_each_referenced_asset_is_served_with_its_type_and_a_year_of_caching(api: Api) -> None:
    html = (await api.client.get("/docs")).text
    for reference in _REFERENCE.findall(html):
        response = await api.client.get(reference)
        name = reference.split("?")[0].rsplit("/", 1)[1]
        assert response.status_code == 200, reference
        assert response.headers["content-type"].split(";")[0] == _ASSET_TYPES[name]
        assert response.headers["cache-control"] == "max-age=31536000, public, immutable"
        assert response.headers["etag"] == f'W/"{reference.split("?v=")[1]}"'
        revalidated = await api.client.get(reference, headers={"If-None-Match": response.headers["etag"]})
        assert revalidated.status_code == 304
        assert revalidated.content == b""
    bundle = await api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content


@pytest.mark.parametrize(
    "name",
    ["index.html", "swagger-ui-bundle.js.map", "oauth2-redirect.html", "..%2F..%2Fpyproject.toml", "%2e%2e", "INIT.JS"],
)
async def test_anything_but_the_whitelisted_assets_is_a_404_problem(api: Api, name: str) -> None:
    response = await api.client.get(f"/docs/assets/{name}")
    assert_problem(response, 404)


@pytest.mark.parametrize(("accept", "decode"), [("br", brotli.decompress), ("gzip", gzip.decompress)])
async def test_the_bundle_goes_out_compressed_as_accepted_and_decodes_to_the_file(
    api: Api, accept: str, decode: Callable[[bytes], bytes]
) -> None:
    request = api.client.build_request("GET", "/docs/assets/swagger-ui-bundle.js", headers={"Accept-Encoding": accept})
    response = await api.client.send(request, stream=True)
    sent = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    assert response.headers["content-encoding"] == accept
    assert response.headers["vary"] == "Accept-Encoding"
    assert int(response.headers["content-length"]) == len(sent)
    identity = await api.client.get("/docs/assets/swagger-ui-bundle.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in identity.headers
    assert identity.headers["vary"] == "Accept-Encoding"
    assert decode(sent) == identity.content
    assert len(sent) < len(identity.content) / 2
