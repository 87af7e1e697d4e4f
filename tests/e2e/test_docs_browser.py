"""``/docs`` in a real headless Chromium against a real ``portside serve``: Swagger UI renders
the operation list from the assets the server serves (and opens an operation and the Authorize
dialog) under the page's Content-Security-Policy, and the browser asks no other host for anything.

Chromium is driven over the DevTools protocol, so the test sees every request the page makes
and every CSP report, not only the final DOM. Without ``chromium`` the test is skipped, except
in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.server import portside_serve

CHROMIUM = shutil.which("chromium")
RENDER_TIMEOUT = 45.0

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (apt-get install chromium); CI requires it",
)

# The operations Swagger UI has drawn (each path's text, without its soft hyphens).
_RENDERED_PATHS = (
    "Array.from(document.querySelectorAll('.opblock-summary-path'))"
    ".map(e => e.getAttribute('data-path') || e.textContent.replace(/\\u200b/g, ''))"
)

_OPEN_FIRST_OPERATION = "document.querySelector('.opblock-summary-control').click()"


class DevTools:
    """A minimal DevTools-protocol client: calls, and every event received meanwhile."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._last_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self._socket.send(json.dumps(message))
        while True:
            reply: dict[str, Any] = json.loads(await self._socket.recv())
            if reply.get("id") == self._last_id:
                assert "error" not in reply, (method, reply["error"])
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def params_of(self, method: str) -> list[dict[str, Any]]:
        return [event["params"] for event in self.events if event.get("method") == method]


@contextmanager
def chromium(profile: Path) -> Iterator[str]:
    """A headless Chromium until the block ends; yields its DevTools WebSocket URL."""
    assert CHROMIUM is not None
    profile.mkdir()
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    log = (profile.parent / "chromium.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60  # a starved 2-core VM once needed more than 20 s
        while not (active.exists() and len(active.read_text().split()) == 2):
            assert process.poll() is None, f"chromium exited with {process.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port within 60 s"
            time.sleep(0.1)
        port, path = active.read_text().split()
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@asynccontextmanager
async def page(browser_url: str) -> AsyncIterator[tuple[DevTools, str]]:
    """A fresh tab reporting its network, log and console events; yields (client, session)."""
    async with websockets.connect(browser_url, max_size=None) as socket:
        tools = DevTools(socket)
        target = await tools.call("Target.createTarget", url="about:blank")
        attached = await tools.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        session: str = attached["sessionId"]
        for domain in ("Network", "Log", "Runtime", "Page"):
            await tools.call(f"{domain}.enable", session)
        yield tools, session


async def evaluated_until(tools: DevTools, session: str, expression: str) -> Any:
    """The value of ``expression`` once it is truthy; the last (falsy) one after RENDER_TIMEOUT."""
    deadline = time.monotonic() + RENDER_TIMEOUT
    while True:
        result = await tools.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        value = result["result"].get("value")
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def test_docs_render_the_operations_offline_under_the_csp(tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.fail("CI runs this test in a real browser: apt-get install chromium")
    with portside_serve("memory://", tmp_path) as base, chromium(tmp_path / "chromium") as browser_url:
        async with asyncio.timeout(RENDER_TIMEOUT + 30), page(browser_url) as (tools, session):
            await tools.call("Page.navigate", session, url=f"{base}/docs")
            paths = await evaluated_until(tools, session, _RENDERED_PATHS) or []
            # Opening an operation draws its parameters, examples and highlighted code too.
            await tools.call("Runtime.evaluate", session, expression=_OPEN_FIRST_OPERATION)
            opened = await evaluated_until(tools, session, "document.querySelectorAll('.opblock-body').length")
            await tools.call("Runtime.evaluate", session, expression="document.querySelector('.btn.authorize').click()")
            authorize = await evaluated_until(tools, session, "document.querySelectorAll('.modal-ux').length")

    assert "/api/v1/todos" in paths, f"Swagger UI drew no operation list: {paths[:5]}"
    assert "/api/v1/todos/{todo_id}" in paths
    assert opened, "an operation did not open"
    assert authorize, "the Authorize dialog did not open"
    requested = [event["request"]["url"] for event in tools.params_of("Network.requestWillBeSent")]
    assert any(url.startswith(f"{base}/docs/assets/swagger-ui-bundle.js") for url in requested), requested
    assert f"{base}/openapi.json" in requested
    elsewhere = [url for url in requested if not url.startswith((f"{base}/", "data:"))]
    assert not elsewhere, f"the page asked another host: {elsewhere}"
    csp_reports = [
        entry["entry"]["text"]
        for entry in tools.params_of("Log.entryAdded")
        if "Content Security Policy" in entry["entry"].get("text", "")
    ]
    assert not csp_reports, csp_reports
    assert not tools.params_of("Runtime.exceptionThrown")
