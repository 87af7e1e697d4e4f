"""``HttpTelegramClient``: the Bot API over httpx, every ``sendMessage`` outcome classified.

The classification is what makes at-most-once sending possible (see
``application.telegram.client``): only an outcome that proves Telegram did not take the
message is ``NOT_SENT``; anything that may have reached Telegram and is not a clear answer
is ``UNKNOWN``. The client never retries by itself (httpx's transport ``retries`` stays 0).

The token is part of every URL, so nothing here logs a URL or an httpx error's text: only the
method name and the error's class. httpx itself logs each request URL at INFO on the
``httpx`` logger; a filter on that logger redacts the token (installed once, idempotent).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import structlog

from application.telegram.client import (
    BotInfo,
    Rejection,
    SendOutcome,
    SendResult,
    TelegramClient,
    TelegramUnavailableError,
)

__all__ = ["HttpTelegramClient"]

_log = structlog.get_logger("portside.telegram")

_UNBUILDABLE = (httpx.InvalidURL, ValueError, TypeError)
"""Raised while the request is built: nothing was sent. An unusable URL (``InvalidURL``) is
the configuration's fault and may be fixed, so it is *not sent*; a body that cannot be
encoded (``ValueError``, ``TypeError``: a text with a lone surrogate) never will be, so
that message is *rejected*."""
_NEVER_LEFT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
"""Transport errors raised before the whole request was written: no connection, a URL
that is not http(s), or a request h11 refused to put on the wire. Telegram acts only on a
complete request."""

_DEFAULT_RETRY_AFTER = 1.0
_MAX_PORT = 65535
_DESCRIPTION_CHARS = 200


class HttpTelegramClient(TelegramClient):
    """One pooled ``httpx.AsyncClient`` per instance (keep-alive to the Bot API). A client
    passed in is used as is (its own timeouts and limits) and not closed by ``aclose``."""

    def __init__(
        self,
        token: str,
        api_base: str = "https://api.telegram.org",
        *,
        client: httpx.AsyncClient | None = None,
        read_timeout: float = 10.0,
    ) -> None:
        if not token:
            raise ValueError("a bot token is required (use LogTelegramClient without one)")
        _redact_httpx_logs()
        self._base = f"{api_base.rstrip('/')}/bot{token}/"
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(connect=5.0, read=read_timeout, write=10.0, pool=5.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16, keepalive_expiry=30.0),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return "HttpTelegramClient(<token withheld>)"

    @property
    def configured(self) -> bool:
        return True

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def send_message(self, chat_id: int, text: str) -> SendResult:
        try:
            request = self._request("sendMessage", {"chat_id": chat_id, "text": text})
        except httpx.InvalidURL as error:
            return _not_sent(chat_id, error)
        except (ValueError, TypeError) as error:
            _log.warning("telegram_unencodable", chat_id=chat_id, error=type(error).__name__)
            return SendResult(SendOutcome.REJECTED, rejection=Rejection.REJECTED)
        try:
            response = await self._client.send(request)
        except _NEVER_LEFT as error:
            return _not_sent(chat_id, error)
        except (httpx.HTTPError, OSError) as error:
            # A read or write timeout, a dropped connection, a protocol error: the request
            # may have been written, so Telegram may have taken the message.
            _log.warning("telegram_unknown_outcome", method="sendMessage", chat_id=chat_id, error=type(error).__name__)
            return SendResult(SendOutcome.UNKNOWN)
        return _classify(chat_id, response)

    async def get_me(self) -> BotInfo:
        result = await self._call("getMe", None)
        if not isinstance(result, dict) or not isinstance(result.get("id"), int):
            raise TelegramUnavailableError("getMe answered without a bot id")
        username = result.get("username")
        return BotInfo(id=result["id"], username=username if isinstance(username, str) else None)

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self._call("setWebhook", {"url": url, "secret_token": secret_token, "allowed_updates": ["message"]})

    async def _call(self, method: str, payload: dict[str, Any] | None) -> Any:
        """The ``result`` of a Bot API call; ``TelegramUnavailableError`` for anything else."""
        try:
            response = await self._client.send(self._request(method, payload))
        except (*_UNBUILDABLE, httpx.HTTPError, OSError) as error:
            _log.warning("telegram_call_failed", method=method, error=type(error).__name__)
            raise TelegramUnavailableError(f"{method}: {type(error).__name__}") from None
        body = _json(response)
        if not response.is_success or body is None or body.get("ok") is not True:
            description = _description(body)
            _log.warning("telegram_call_failed", method=method, status=response.status_code, description=description)
            raise TelegramUnavailableError(f"{method}: HTTP {response.status_code} {description or ''}".rstrip())
        return body.get("result")

    def _request(self, method: str, payload: dict[str, Any] | None) -> httpx.Request:
        """A GET without ``payload``, else a JSON POST. Raises one of ``_UNBUILDABLE``."""
        if payload is None:
            request = self._client.build_request("GET", self._base + method)
        else:
            request = self._client.build_request("POST", self._base + method, json=payload)
        port = request.url.port
        if port is not None and not 0 < port <= _MAX_PORT:
            # httpx takes it, and asyncio refuses it only inside anyio's connection attempt,
            # wrapped in an ExceptionGroup.
            raise httpx.InvalidURL(f"port {port} is out of range")
        return request


def _not_sent(chat_id: int, error: Exception) -> SendResult:
    _log.warning("telegram_not_sent", method="sendMessage", chat_id=chat_id, error=type(error).__name__)
    return SendResult(SendOutcome.NOT_SENT)


def _classify(chat_id: int, response: httpx.Response) -> SendResult:
    status = response.status_code
    body = _json(response)
    if response.is_success:
        result = body.get("result") if body is not None and body.get("ok") is True else None
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if isinstance(message_id, int) and not isinstance(message_id, bool):
            return SendResult(SendOutcome.ACCEPTED, message_id=message_id)
        _log.warning("telegram_unknown_outcome", method="sendMessage", chat_id=chat_id, status=status, error="bad_body")
        return SendResult(SendOutcome.UNKNOWN)
    description = _description(body)
    if status == 429:
        retry_after = _retry_after(body, response.headers.get("retry-after"))
        _log.info("telegram_not_sent", method="sendMessage", chat_id=chat_id, status=status, retry_after=retry_after)
        return SendResult(SendOutcome.NOT_SENT, retry_after=retry_after)
    if 400 <= status < 500:
        if status == 403:
            rejection = Rejection.BLOCKED
        elif status == 400 and "chat not found" in (description or "").lower():
            rejection = Rejection.CHAT_NOT_FOUND
        else:
            rejection = Rejection.REJECTED
        _log.info(
            "telegram_rejected",
            method="sendMessage",
            chat_id=chat_id,
            status=status,
            rejection=str(rejection),
            description=description,
        )
        return SendResult(SendOutcome.REJECTED, rejection=rejection)
    # 5xx (Telegram may have taken it before failing), or a 1xx/3xx nobody expects.
    _log.warning(
        "telegram_unknown_outcome", method="sendMessage", chat_id=chat_id, status=status, description=description
    )
    return SendResult(SendOutcome.UNKNOWN)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _description(body: dict[str, Any] | None) -> str | None:
    description = body.get("description") if body is not None else None
    return description[:_DESCRIPTION_CHARS] if isinstance(description, str) else None


def _retry_after(body: dict[str, Any] | None, header: str | None) -> float:
    parameters = body.get("parameters") if body is not None else None
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if header is not None:
        try:
            seconds = float(header)
        except ValueError:
            pass
        else:
            if seconds >= 0:
                return seconds
    return _DEFAULT_RETRY_AFTER


_TOKEN_IN_PATH = re.compile(r"/bot[^/\s\"']+/")


class _RedactTokens(logging.Filter):
    """Rewrites ``/bot<token>/`` in a record's message to ``/bot<redacted>/``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub("/bot<redacted>/", message), None
        return True


_REDACT = _RedactTokens()


def _redact_httpx_logs() -> None:
    logger = logging.getLogger("httpx")
    if _REDACT not in logger.filters:
        logger.addFilter(_REDACT)
