"""Bodies as the operation declares them: 415 for another ``Content-Type``, 422 for a JSON
body that only a lax conversion would accept.

Litestar decodes a ``JSONBody`` whatever the header says; the contract wants 415 instead.
It also converts the decoded body leniently (``"true"`` to a boolean, ``0`` to a datetime),
which the OpenAPI document does not promise; a strict decode runs first, and what it decodes
is what the handler gets (the body is decoded once).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import BodyKwarg
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.utils.scope.state import ScopeState

__all__ = ["require_declared_media_type", "require_strict_json_body"]

# msgspec ends a message with the path of the offending value: "... - at `$.due_at`".
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)


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


async def buffer_multipart_body(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: read a multipart body whole (up to the handler's limit)
    before Litestar parses it. Litestar 2.25 parses a form as it streams, and when the body
    runs over the limit mid-part it leaves that part's spooled temporary file open; reading
    first raises the 413 before any part exists. The handler's limit (5 MiB and a little for
    uploads) bounds what this holds in memory."""
    field = request.route_handler.parsed_data_field
    if field is None or not isinstance(field.kwarg_definition, BodyKwarg):
        return
    if field.kwarg_definition.media_type is RequestEncodingType.MULTI_PART:
        await request.body()


def _strict_error(error: msgspec.ValidationError) -> ValidationException:
    match = _AT_PATH.match(str(error))
    message, path = (match["message"], match["path"]) if match else (str(error), None)
    return ValidationException(detail="Validation failed", extra=[{"message": message, "key": path or "data"}])


async def require_strict_json_body(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: a JSON body must decode strictly into the declared type.

    The decoded value becomes the request's parsed JSON, which Litestar's ``data`` reads
    instead of decoding the body again; its lenient conversion passes an instance of the
    declared type through unchanged."""
    field = request.route_handler.parsed_data_field
    if field is None or not isinstance(field.kwarg_definition, BodyKwarg):
        return
    if field.kwarg_definition.media_type not in (None, RequestEncodingType.JSON):
        return
    body = await request.body()
    if not body:
        return
    try:
        decoded = msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as error:
        raise _strict_error(error) from None
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own decoding answers 400
    except UnicodeDecodeError:
        # JSON is UTF-8 (RFC 8259 §8.1); Litestar would fail on it with a 500.
        raise ValidationException(detail="The body is not UTF-8.") from None
    ScopeState.from_scope(request.scope).json = decoded
