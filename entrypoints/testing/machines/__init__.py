"""Hypothesis state machines over a ``Harness``: the real use-cases against a plain model.

Each runs one harness per example, built by its ``open_harness`` method; override that to run
the same checks against your own wiring (settings, providers, a database URL). Hypothesis
has no async rules, so each machine owns an ``asyncio.Runner`` and runs every call on it.

    class MyTodos(TodoMachine):
        def open_harness(self) -> Harness:
            return Harness(harness_settings(), MyProvider())

    TestMyTodos = MyTodos.TestCase

Needs hypothesis: ``pip install portside[testing]``.
"""

from entrypoints.testing.machines.accounts import AccountsMachine
from entrypoints.testing.machines.posts import PostMachine
from entrypoints.testing.machines.sessions import SessionMachine
from entrypoints.testing.machines.todos import TodoMachine

__all__ = ["AccountsMachine", "PostMachine", "SessionMachine", "TodoMachine"]
