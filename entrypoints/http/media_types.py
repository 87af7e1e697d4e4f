"""415 for a body whose ``Content-Type`` is not what the operation reads.

Litestar decodes a ``JSONBody`` whatever the header says; the contract wants 415 instead.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import BodyKwarg
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

__all__ = ["require_declared_media_type"]


def _accepts(declared: str, sent: str) -> bool:
    if declared == RequestEncodingType.JSON:
        return sent == "application/json" or (sent.startswith("application/") and sent.endswith("+json"))
    return sent == declared


def _body_and_type(request: Request[Any, Any, Any]) -> tuple[bool, str]:
    """Whether a body was sent, and its bare media type, read straight from the raw headers."""
    has_body, media_type = False, ""
    for name, value in request.scope["headers"]:
        if name == b"content-length":
            has_body = has_body or value != b"0"
        elif name == b"transfer-encoding":
            has_body = True
        elif name == b"content-type":
            media_type = value.decode("latin-1").partition(";")[0].strip().lower()
    return has_body, media_type


async def require_declared_media_type(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: a non-empty body must come in the media type the handler declares."""
    field = request.route_handler.parsed_data_field
    if field is None or not isinstance(field.kwarg_definition, BodyKwarg):
        return
    has_body, sent = _body_and_type(request)
    if not has_body:
        return
    media_type = field.kwarg_definition.media_type
    declared = media_type.value if isinstance(media_type, RequestEncodingType) else media_type
    if not _accepts(declared, sent):
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=f"send the body as {declared}, not {sent or 'nothing'}"
        )
