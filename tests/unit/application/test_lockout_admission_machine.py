"""A state machine over the lockout's admission: attempts start, end (failed, succeeded or
withdrawn) in any order and at any time, and never more than ``threshold`` of them are
checked inside a window, however they interleave."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from adapters.memory.database import InMemoryDatabase
from adapters.memory.identity import IdentityTables
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.system.clock import FixedClock
from application.errors import RateLimitedError
from application.identity.login_guard import LoginGuard
from application.identity.rules import IdentityRules
from application.identity.throttles import IdentityThrottles
from application.shared.rate_limits import Throttle
from domain.identity.lockout import LockoutPolicy
from tests.support.builders import T0
from tests.support.units import memory_unit

THRESHOLD = 3
WINDOW = timedelta(minutes=15)
EMAIL = "ada@example.com"


@dataclass
class Attempt:
    number: int
    at: datetime
    state: str = "in flight"  # then "failed", "cleared" or "withdrawn"


class AdmissionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = FixedClock(T0)
        rules = IdentityRules(lockout=LockoutPolicy(threshold=THRESHOLD, window=WINDOW, duration=WINDOW))
        throttles = IdentityThrottles(Throttle(InMemoryRateLimiter(self.clock)), rules)
        self.guard = LoginGuard(throttles, rules, self.clock)
        self.database = InMemoryDatabase()
        self.attempts: list[Attempt] = []

    def teardown(self) -> None:
        self.runner.close()

    async def _in_uow(self, action: str, number: int = 0) -> int | None:
        async with memory_unit(self.database) as uow:
            repository = uow.login_attempts
            result: int | None = None
            if action == "admit":
                result = await self.guard.admit(repository, EMAIL)
            elif action == "fail":
                await repository.fail(EMAIL, number)
            elif action == "clear":
                await repository.clear_through(EMAIL, number)
            else:
                await repository.withdraw(EMAIL, number)
            await uow.commit()
            return result

    def _in_flight(self) -> list[Attempt]:
        return [a for a in self.attempts if a.state == "in flight"]

    @rule()
    def start(self) -> None:
        try:
            number = self.runner.run(self._in_uow("admit"))
        except RateLimitedError:
            return
        assert number is not None
        self.attempts.append(Attempt(number, self.clock.now()))

    @precondition(lambda self: self._in_flight())
    @rule(data=st.data(), outcome=st.sampled_from(["fail", "clear", "withdraw"]))
    def end(self, data: st.DataObject, outcome: str) -> None:
        attempt = data.draw(st.sampled_from(self._in_flight()))
        self.runner.run(self._in_uow(outcome, attempt.number))
        if outcome == "fail":
            attempt.state = "failed"
        elif outcome == "withdraw":
            attempt.state = "withdrawn"
        else:  # a success forgets itself and the failures before it, never those in flight
            for other in self.attempts:
                if other is attempt or (other.number < attempt.number and other.state == "failed"):
                    other.state = "cleared"

    @rule(minutes=st.integers(min_value=1, max_value=20))
    def wait(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @invariant()
    def never_more_than_threshold_checks_in_a_window(self) -> None:
        since = self.clock.now() - WINDOW
        counted = [a for a in self.attempts if a.state in ("in flight", "failed") and a.at > since]
        assert len(counted) <= THRESHOLD

    @invariant()
    def the_store_holds_what_the_model_does(self) -> None:
        stored = self.database.tables(IdentityTables).login_failures.get(EMAIL, {})
        expected = {a.number: a.state == "in flight" for a in self.attempts if a.state in ("in flight", "failed")}
        assert {number: attempt.in_flight for number, attempt in stored.items()} == expected


TestAdmission = AdmissionMachine.TestCase
