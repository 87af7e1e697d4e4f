"""What every machine over a harness shares: its event loop, its harness, and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar
from uuid import uuid4

from hypothesis.stateful import RuleBasedStateMachine

from entrypoints.testing.harness import Harness

__all__ = ["PASSWORD", "HarnessMachine"]

_T = TypeVar("_T")
_E = TypeVar("_E", bound=BaseException)

PASSWORD = "a-sturdy-passphrase-42"
"""The password machines register users with (the policy accepts it)."""


class HarnessMachine(RuleBasedStateMachine):
    """A fresh harness per example, closed at its end; ``run`` awaits on the machine's loop."""

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.harness = self.open_harness()
        # Each example's accounts are new even on a database that outlives the example.
        self.nonce = uuid4().hex[:12]

    def open_harness(self) -> Harness:
        """The harness one example runs against. Override it for other settings, your own
        providers or a database URL; the machine closes it."""
        return Harness()

    def teardown(self) -> None:
        try:
            self.run(self.harness.close())
        finally:
            self.runner.close()

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        # The loop itself, not ``Runner.run``: that one installs and removes a SIGINT handler
        # on every call, which costs more than most use-cases do.
        return self.runner.get_loop().run_until_complete(coroutine)

    def email(self, name: str) -> str:
        """An address of this example only: ``name`` plus the example's nonce."""
        return f"{name}.{self.nonce}@example.com"

    def refused(self, error: type[_E], coroutine: Coroutine[Any, Any, object]) -> _E:
        """The ``error`` that running ``coroutine`` raised; fails if it succeeded."""
        try:
            self.run(coroutine)
        except error as caught:
            return caught
        raise AssertionError(f"expected {error.__name__}, but the call succeeded")
