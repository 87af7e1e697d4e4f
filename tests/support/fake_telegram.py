"""A fake Telegram Bot API on loopback: ``sendMessage``, ``getMe`` and ``setWebhook``, scripted
per chat, every call recorded.

A small HTTP/1.1 server on ``asyncio.start_server`` (keep-alive, ``Content-Length`` bodies),
run on the test's own event loop::

    async with FakeTelegram(latency=0.02) as fake:
        fake.script(42, retry_after(3, times=1))     # 429 once, then ok
        fake.script(43, blocked())
        client = HttpTelegramClient(fake.token, fake.api_base)
        ...
        assert fake.accepted_count() == 1 and fake.max_in_window(1.0) <= 30

Behaviours (each with ``times=k``: only the first k calls behave so, later ones are ``ok``):
``ok``, ``retry_after(n)`` (429 with ``parameters.retry_after`` and ``Retry-After``),
``blocked`` (403), ``chat_not_found`` (400), ``bad_request`` (another 400), ``server_error``
(502 with an HTML body as nginx sends, or 500 with JSON), ``hang`` (reads the request, never
answers), ``drop`` (reads the request, closes the connection without answering),
``malformed`` (200 whose body is not JSON). ``script_method("getMe" | "setWebhook", ...)``
scripts the other two methods (``hang`` and ``drop`` work there too).

Each call is recorded when its request has been read (``Call.at`` is ``time.monotonic()``
then), with its outcome: ``accepted`` or the behaviour's name (``unauthorized`` for a wrong
token, ``invalid`` for a request Telegram would refuse anyway).

Out of process: ``python -m tests.support.fake_telegram [--port P] [--token T] [--latency S]``
prints ``FAKE_TELEGRAM_PORT=<port>`` and serves until killed. There, ``POST /_fake/script``
(``{"chat_id": N}`` or ``{"method": "getMe"}``, plus ``"behaviour": {"kind": "retry_after",
"seconds": 3, "times": 1}``, see ``behaviour_from_json``), ``GET
/_fake/calls`` and ``POST /_fake/reset`` stand in for the methods.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

__all__ = [
    "Behaviour",
    "Call",
    "FakeTelegram",
    "bad_request",
    "behaviour_from_json",
    "blocked",
    "chat_not_found",
    "drop",
    "hang",
    "malformed",
    "ok",
    "retry_after",
    "server_error",
]

_ROUTE = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
_MAX_HEADER_LINES = 100
_MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class Behaviour:
    kind: str
    times: int | None = None
    """Only the first ``times`` calls behave so; later ones are ``ok``. None: every call."""
    retry_after: int = 0
    in_body: bool = True
    """``retry_after``: in ``parameters.retry_after`` (and the header), or the header only."""
    status: int = 0
    description: str = ""


def ok() -> Behaviour:
    return Behaviour("ok")


def retry_after(seconds: int, *, times: int | None = None, in_body: bool = True) -> Behaviour:
    return Behaviour("retry_after", times, retry_after=seconds, in_body=in_body, status=429)


def blocked(*, times: int | None = None) -> Behaviour:
    return Behaviour("blocked", times, status=403, description="Forbidden: bot was blocked by the user")


def chat_not_found(*, times: int | None = None) -> Behaviour:
    return Behaviour("chat_not_found", times, status=400, description="Bad Request: chat not found")


def bad_request(description: str = "Bad Request: message is too long", *, times: int | None = None) -> Behaviour:
    return Behaviour("bad_request", times, status=400, description=description)


def server_error(status: int = 502, *, times: int | None = None) -> Behaviour:
    return Behaviour("server_error", times, status=status, description="Internal Server Error")


def hang(*, times: int | None = None) -> Behaviour:
    return Behaviour("hang", times)


def drop(*, times: int | None = None) -> Behaviour:
    return Behaviour("drop", times)


def malformed(*, times: int | None = None) -> Behaviour:
    return Behaviour("malformed", times, status=200)


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    chat_id: int | None
    text: str | None
    at: float
    outcome: str


@dataclass(frozen=True, slots=True)
class _Request:
    verb: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


_HANG = object()
_DROP = object()


class FakeTelegram:
    def __init__(
        self, token: str = "123456:fake-token", *, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.token = token
        self.latency = latency
        """Seconds every answer waits before it is written (in-flight sends look real)."""
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.reset()

    def reset(self) -> None:
        """Forget every call and script (the webhook too)."""
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self._scripts: dict[tuple[str, int | None], Behaviour] = {}
        self._used: defaultdict[tuple[str, int | None], int] = defaultdict(int)
        self._message_ids = 0
        self._in_flight = 0
        self.max_in_flight = 0
        """The most requests read and not yet answered at any one time."""

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "the fake is not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def api_base(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self._host, self._port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- scripting ---------------------------------------------------------------------

    def script(self, chat_id: int, behaviour: Behaviour) -> None:
        """How ``sendMessage`` to ``chat_id`` answers from now on (its ``times`` count anew)."""
        self._set(("sendMessage", chat_id), behaviour)

    def script_method(self, method: str, behaviour: Behaviour) -> None:
        """How ``getMe`` or ``setWebhook`` answers from now on."""
        self._set((method, None), behaviour)

    def _set(self, key: tuple[str, int | None], behaviour: Behaviour) -> None:
        self._scripts[key] = behaviour
        self._used[key] = 0

    def _behaviour(self, key: tuple[str, int | None]) -> Behaviour:
        behaviour = self._scripts.get(key)
        if behaviour is None:
            return ok()
        self._used[key] += 1
        if behaviour.times is not None and self._used[key] > behaviour.times:
            return ok()
        return behaviour

    # -- what happened -----------------------------------------------------------------

    def calls_for(self, chat_id: int) -> list[Call]:
        return [call for call in self.calls if call.method == "sendMessage" and call.chat_id == chat_id]

    def accepted_for(self, chat_id: int) -> list[Call]:
        return [call for call in self.calls_for(chat_id) if call.outcome == "accepted"]

    def accepted(self) -> list[Call]:
        return [call for call in self.calls if call.method == "sendMessage" and call.outcome == "accepted"]

    def accepted_count(self) -> int:
        return len(self.accepted())

    def max_in_window(self, seconds: float = 1.0) -> int:
        """The most accepted ``sendMessage`` calls within any sliding window of ``seconds``
        (calls less than ``seconds`` apart share a window)."""
        return max_in_window([call.at for call in self.accepted()], seconds)

    def min_gap_per_chat(self) -> float:
        """The shortest time between two accepted sends to the same chat (inf: never two)."""
        by_chat: defaultdict[int | None, list[float]] = defaultdict(list)
        for call in self.accepted():
            by_chat[call.chat_id].append(call.at)
        return min_gap([times for times in by_chat.values()])

    # -- HTTP --------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_request(reader)) is not None:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                response = self._handle(request)
                if response is _HANG:
                    await asyncio.Event().wait()  # until the fake closes
                if response is _DROP:
                    return
                assert isinstance(response, _Response)
                if self.latency > 0:
                    await asyncio.sleep(self.latency)
                writer.write(_encode(response, keep_alive=request.keep_alive))
                await writer.drain()
            finally:
                self._in_flight -= 1
            if not request.keep_alive:
                return

    def _handle(self, request: _Request) -> object:
        path = request.path.split("?", 1)[0]
        if path.startswith("/_fake/"):
            return self._control(path, request)
        route = _ROUTE.match(path)
        if route is None:
            return _error(404, "Not Found")
        method = route["method"]
        payload = _json_object(request.body)
        if route["token"] != self.token:
            self.calls.append(Call(method, _chat_id(payload), None, time.monotonic(), "unauthorized"))
            return _error(401, "Unauthorized")
        if method == "sendMessage":
            return self._send_message(payload)
        if method == "getMe":
            return self._bot_call(method, payload, _bot_info(self.token))
        if method == "setWebhook":
            return self._bot_call(method, payload, True)
        return _error(404, "Not Found: method not found")

    def _send_message(self, payload: dict[str, Any]) -> object:
        at = time.monotonic()
        chat_id = _chat_id(payload)
        text = payload.get("text")
        if chat_id is None or not isinstance(text, str) or not text.strip():
            self.calls.append(Call("sendMessage", chat_id, text if isinstance(text, str) else None, at, "invalid"))
            return _error(400, "Bad Request: message text is empty" if chat_id else "Bad Request: chat_id is empty")
        behaviour = self._behaviour(("sendMessage", chat_id))
        outcome = "accepted" if behaviour.kind == "ok" else behaviour.kind
        self.calls.append(Call("sendMessage", chat_id, text, at, outcome))
        if behaviour.kind != "ok":
            return _misbehave(behaviour)
        self._message_ids += 1
        chat = {"id": chat_id, "type": "private"}
        return _ok({"message_id": self._message_ids, "date": int(time.time()), "chat": chat, "text": text})

    def _bot_call(self, method: str, payload: dict[str, Any], result: object) -> object:
        behaviour = self._behaviour((method, None))
        if method == "setWebhook" and not isinstance(payload.get("url"), str):
            self.calls.append(Call(method, None, None, time.monotonic(), "invalid"))
            return _error(400, "Bad Request: bad webhook: URL must be provided")
        self.calls.append(
            Call(method, None, None, time.monotonic(), "accepted" if behaviour.kind == "ok" else behaviour.kind)
        )
        if behaviour.kind != "ok":
            return _misbehave(behaviour)
        if method == "setWebhook":
            self.webhook = payload
        return _ok(result)

    def _control(self, path: str, request: _Request) -> _Response:
        """Scripting and inspection over HTTP, for a fake in another process."""
        if path == "/_fake/calls":
            return _ok([dataclasses.asdict(call) for call in self.calls])
        if path == "/_fake/webhook":
            return _ok(self.webhook)
        if path == "/_fake/reset" and request.verb == "POST":
            self.reset()
            return _ok(True)
        if path == "/_fake/script" and request.verb == "POST":
            payload = _json_object(request.body)
            behaviour = behaviour_from_json(payload.get("behaviour", {}))
            if "method" in payload:
                self.script_method(str(payload["method"]), behaviour)
            else:
                self.script(int(payload["chat_id"]), behaviour)
            return _ok(True)
        return _error(404, "Not Found")


_FACTORIES: dict[str, Any] = {
    "ok": ok,
    "retry_after": retry_after,
    "blocked": blocked,
    "chat_not_found": chat_not_found,
    "bad_request": bad_request,
    "server_error": server_error,
    "hang": hang,
    "drop": drop,
    "malformed": malformed,
}


def behaviour_from_json(spec: dict[str, Any]) -> Behaviour:
    """``{"kind": "retry_after", "seconds": 3, "times": 1}``: the factory of that name with the
    other keys as its arguments (``seconds``, ``status``, ``description``, ``in_body``, ``times``)."""
    arguments = dict(spec)
    kind = arguments.pop("kind", "ok")
    factory = _FACTORIES[kind]
    if kind == "ok":
        return Behaviour("ok")
    return factory(**arguments)  # type: ignore[no-any-return]


def max_in_window(times: Sequence[float], seconds: float = 1.0) -> int:
    """The most of ``times`` that lie less than ``seconds`` apart (a sliding window)."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= seconds:
            first += 1
        best = max(best, last - first + 1)
    return best


def min_gap(series: Sequence[Sequence[float]]) -> float:
    """The shortest gap between two neighbours within any one series (inf: none has two)."""
    gaps = [b - a for times in series for a, b in zip(sorted(times), sorted(times)[1:], strict=False)]
    return min(gaps, default=float("inf"))


def _misbehave(behaviour: Behaviour) -> object:
    if behaviour.kind == "hang":
        return _HANG
    if behaviour.kind == "drop":
        return _DROP
    if behaviour.kind == "malformed":
        return _Response(200, b"<html>not json</html>", content_type="text/html")
    if behaviour.kind == "retry_after":
        seconds = behaviour.retry_after
        header = (("Retry-After", str(seconds)),)
        if not behaviour.in_body:
            return _error(429, f"Too Many Requests: retry after {seconds}", headers=header)
        return _error(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}, headers=header)
    if behaviour.kind == "server_error" and behaviour.status == 502:
        html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
        return _Response(502, html, content_type="text/html")
    return _error(behaviour.status or 500, behaviour.description or "Internal Server Error")


def _ok(result: object) -> _Response:
    return _Response(200, json.dumps({"ok": True, "result": result}).encode())


def _error(
    status: int,
    description: str,
    parameters: dict[str, Any] | None = None,
    *,
    headers: tuple[tuple[str, str], ...] = (),
) -> _Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters is not None:
        body["parameters"] = parameters
    return _Response(status, json.dumps(body).encode(), headers)


def _bot_info(token: str) -> dict[str, Any]:
    prefix = token.split(":", 1)[0]
    bot_id = int(prefix) if prefix.isdigit() else 1
    return {"id": bot_id, "is_bot": True, "first_name": "Portside", "username": "portside_test_bot"}


def _chat_id(payload: dict[str, Any]) -> int | None:
    value = payload.get("chat_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _encode(response: _Response, *, keep_alive: bool) -> bytes:
    reason = HTTPStatus(response.status).phrase
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        "Server: fake-telegram",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        *(f"{name}: {value}" for name, value in response.headers),
    ]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """The next request on the connection, or None when the client closed it."""
    line = await reader.readline()
    if not line:
        return None
    verb, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADER_LINES):
        header = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not header:
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ValueError("too many header lines")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise ValueError("chunked bodies are not supported by the fake")
    length = int(headers.get("content-length", "0"))
    if not 0 <= length <= _MAX_BODY:
        raise ValueError("bad Content-Length")
    body = await reader.readexactly(length) if length else b""
    return _Request(verb, target, headers, body)


async def _main() -> None:
    parser = argparse.ArgumentParser(description="A fake Telegram Bot API on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="123456:fake-token")
    parser.add_argument("--latency", type=float, default=0.0)
    arguments = parser.parse_args()
    async with FakeTelegram(arguments.token, latency=arguments.latency, port=arguments.port) as fake:
        print(f"FAKE_TELEGRAM_PORT={fake.port}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
