"""The one place that turns errors into RFC 9457 problem responses.

``PROBLEMS`` maps every domain and application error class to a status and a problem type;
a test walks all subclasses and fails on a missing entry. Litestar's own exceptions
(routing, validation, body size, ...) go through the same renderer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from adapters.prometheus.metrics import RATE_LIMIT_REJECTIONS
from application.chat.receive_update import WebhookSecretError
from application.chat.send_reply import ReplyNotSentError
from application.errors import (
    AlreadyExistsError,
    ApplicationError,
    DependencyUnavailableError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    RetryLaterError,
    UnauthenticatedError,
    VersionRequiredError,
)
from application.identity.links import InvalidLinkError
from domain.files.images import FileTooLargeError, UnsupportedMediaTypeError
from domain.identity.session import RefreshTokenReusedError, SessionExpiredError
from domain.identity.user import LastActiveAdminError
from domain.shared.errors import DomainError, IllegalTransitionError, InvalidValueError, VersionMismatchError

__all__ = ["PROBLEMS", "Problem", "exception_handlers", "problem_of", "problem_responses"]

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "urn:portside:problem:"
_log = structlog.get_logger("portside.http")


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details. ``errors`` only on validation problems."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    current_version: int | None = None


@dataclass(frozen=True, slots=True)
class ProblemKind:
    status: int
    slug: str
    title: str


PROBLEMS: dict[type[Exception], ProblemKind] = {
    DomainError: ProblemKind(422, "domain-rule", "A domain rule was broken"),
    InvalidValueError: ProblemKind(422, "validation-error", "The request is not valid"),
    VersionMismatchError: ProblemKind(412, "version-mismatch", "The resource has changed"),
    IllegalTransitionError: ProblemKind(409, "illegal-transition", "This change is not allowed now"),
    RefreshTokenReusedError: ProblemKind(401, "unauthenticated", "Authentication required"),
    SessionExpiredError: ProblemKind(401, "unauthenticated", "Authentication required"),
    ApplicationError: ProblemKind(400, "bad-request", "The request cannot be served"),
    NotFoundError: ProblemKind(404, "not-found", "Not found"),
    AlreadyExistsError: ProblemKind(409, "already-exists", "Already exists"),
    UnauthenticatedError: ProblemKind(401, "unauthenticated", "Authentication required"),
    ForbiddenError: ProblemKind(403, "forbidden", "Forbidden"),
    RateLimitedError: ProblemKind(429, "rate-limited", "Too many attempts"),
    VersionRequiredError: ProblemKind(428, "version-required", "A version is required"),
    DependencyUnavailableError: ProblemKind(503, "dependency-unavailable", "A dependency is unavailable"),
    InvalidLinkError: ProblemKind(400, "invalid-link", "The link is invalid or has expired"),
    LastActiveAdminError: ProblemKind(409, "last-active-admin", "The last active admin must stay"),
    UnsupportedMediaTypeError: ProblemKind(415, "unsupported-media-type", "The file is not an accepted image"),
    FileTooLargeError: ProblemKind(413, "file-too-large", "The file is too large"),
    WebhookSecretError: ProblemKind(401, "webhook-secret", "The webhook secret token is missing or wrong"),
    RetryLaterError: ProblemKind(503, "dependency-unavailable", "A dependency is unavailable"),
    ReplyNotSentError: ProblemKind(503, "dependency-unavailable", "A dependency is unavailable"),  # jobs only
}

# Detail texts the client may see. Errors whose message could carry internals get a fixed text.
_DETAILS: dict[type[Exception], str] = {
    UnauthenticatedError: "Missing, invalid or expired credentials.",
    RefreshTokenReusedError: "Missing, invalid or expired credentials.",
    SessionExpiredError: "Missing, invalid or expired credentials.",
    DependencyUnavailableError: "A service this request needs is unavailable; try again later.",
    InvalidLinkError: "The link is unknown, used already or expired; ask for a new one.",
}


def _kind_of(exc: Exception) -> ProblemKind:
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    raise LookupError(type(exc))


def _render(request: Request[Any, Any, Any], problem: Problem, headers: dict[str, str] | None = None) -> Response[Any]:
    problem.instance = request.url.path
    return Response(
        content=problem,
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _specifics(problem: Problem, exc: Exception) -> None:
    """Fill in what only some errors carry: field errors, the current version."""
    if isinstance(exc, InvalidValueError):
        problem.detail = "One or more fields are invalid."
        problem.errors = [FieldError(field=exc.field, message=exc.message)]
    elif isinstance(exc, AlreadyExistsError):
        problem.errors = [FieldError(field=exc.field, message="is already taken")]
    elif isinstance(exc, VersionMismatchError):
        problem.current_version = exc.actual
    elif isinstance(exc, VersionRequiredError):
        problem.current_version = exc.current_version


def _headers(problem: Problem, exc: Exception) -> dict[str, str]:
    headers: dict[str, str] = {}
    if problem.current_version is not None:
        headers["ETag"] = f'"{problem.current_version}"'
    if isinstance(exc, RateLimitedError | DependencyUnavailableError):
        headers["Retry-After"] = str(exc.retry_after)
    if problem.status == 401 and not isinstance(exc, WebhookSecretError):  # not a bearer-token matter
        headers["WWW-Authenticate"] = 'Bearer realm="portside"'
    return headers


def problem_of(exc: Exception, instance: str | None = None) -> tuple[Problem, dict[str, str]]:
    """The problem and headers a domain or application error is answered with, for code that
    answers outside Litestar's handlers (the API rate limit, ``entrypoints.http.rate_limit``)."""
    kind = _kind_of(exc)
    detail = next((text for cls, text in _DETAILS.items() if isinstance(exc, cls)), str(exc))
    problem = Problem(
        type=_TYPE_BASE + kind.slug, title=kind.title, status=kind.status, detail=detail, instance=instance
    )
    _specifics(problem, exc)
    return problem, _headers(problem, exc)


def _known_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, RateLimitedError):  # the throttles and the login lockout; the API limit counts its own
        RATE_LIMIT_REJECTIONS.labels(limit="throttle").inc()
    problem, headers = problem_of(exc)
    return _render(request, problem, headers)


# msgspec names the offending field in the message when the path is the body itself
# ("Object missing required field `email`", "Object contains unknown field `x`").
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid"))
            key = str(item.get("key") or "data")
            named = _NAMED_FIELD.search(message) if key == "data" else None
            field = named.group(1) if named else ("body" if key == "data" else key)
            errors.append(FieldError(field=field, message=message))
    return errors


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        if errors:
            return _render(
                request,
                Problem(
                    type=_TYPE_BASE + "validation-error",
                    title="The request is not valid",
                    status=422,
                    detail="One or more fields are invalid.",
                    errors=errors,
                ),
            )
        return _render(
            request,
            Problem(type=_TYPE_BASE + "malformed-request", title="Malformed request", status=400, detail=exc.detail),
        )
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="portside"')
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if exc.detail and exc.detail != phrase and status < 500 else None
    return _render(request, Problem(type="about:blank", title=phrase, status=status, detail=detail), headers)


def _recursion(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """msgspec gives up on a body nested deeper than the interpreter's recursion limit: the
    client's fault (400). Any other RecursionError is ours."""
    if "while deserializing" not in str(exc):
        return _unexpected(request, exc)
    return _render(
        request,
        Problem(
            type=_TYPE_BASE + "malformed-request",
            title="Malformed request",
            status=400,
            detail="The body is nested too deeply.",
        ),
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _log.error("unhandled_error", exc_info=exc, path=request.url.path)
    problem = Problem(
        type="about:blank", title="Internal Server Error", status=500, detail="Something went wrong on our side."
    )
    return _render(request, problem)


def exception_handlers() -> dict[type[Exception] | int, Any]:
    return {
        DomainError: _known_error,
        ApplicationError: _known_error,
        HTTPException: _http_error,
        RecursionError: _recursion,
        Exception: _unexpected,
    }


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a handler can give.

    400 is always included: Litestar documents one for every handler with parameters, as
    plain JSON; ours replaces it with the problem shape actually sent. So is 503: any
    operation can meet an unreachable database.
    """
    described = {
        400: "Malformed request",
        401: "Missing, invalid, expired or revoked credentials",
        403: "Not allowed",
        404: "Not found (or not yours)",
        409: "Conflict",
        412: "The version does not match; `current_version` and `ETag` give the current one",
        422: "Validation failed; `errors` lists the fields",
        428: "Neither If-Match nor version was sent; `current_version` gives the current one",
        429: "Too many attempts; see Retry-After",
        503: "A dependency (the database, or the password-hashing pool) is unavailable or saturated; see Retry-After",
    }
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=described.get(status, HTTPStatus(status).phrase),
            media_type=PROBLEM_JSON,
        )
        for status in sorted({400, 503, *statuses})
    }
