"""Each context adds its own event handlers (a dishka ``decorate`` on ``EventHandlers``): the
jobs context lists none of them, and a test's override replaces them all."""

from __future__ import annotations

import ast
import inspect
from typing import ClassVar

from dishka import Scope

import entrypoints.providers.jobs
from application.jobs.handle_event import EventHandlers
from application.shared.events import Envelope
from application.shared.handlers import EventHandler
from entrypoints.container import build_container
from entrypoints.testing.harness import harness_settings, overriding

CONTEXT_HANDLERS = {
    "identity.welcome_email",
    "identity.password_reset_email",
    "identity.verification_email",
    "chat.handle_update",
    "chat.send_reply",
}


class Noop(EventHandler):
    name: ClassVar[str] = "test.noop"
    events: ClassVar[frozenset[str]] = frozenset({"user.registered"})

    async def __call__(self, envelope: Envelope) -> None:
        return None


async def handler_names(*overrides: object) -> list[str]:
    container = build_container(harness_settings(), *overrides)  # type: ignore[arg-type]
    try:
        async with container(scope=Scope.REQUEST) as request:
            return [handler.name for handler in (await request.get(EventHandlers)).all]
    finally:
        await container.close()


def test_the_jobs_provider_imports_no_other_contexts_code() -> None:
    tree = ast.parse(inspect.getsource(entrypoints.providers.jobs))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not [
        m
        for m in imported
        if m.startswith("application.") and not m.startswith(("application.jobs", "application.shared"))
    ]


async def test_the_container_has_every_contexts_handler_once() -> None:
    names = await handler_names()
    assert sorted(names) == sorted(CONTEXT_HANDLERS)


async def test_an_override_of_event_handlers_wins_over_the_contexts_additions() -> None:
    only = Noop()
    assert await handler_names(overriding(EventHandlers, EventHandlers((only,)))) == ["test.noop"]
