"""``CheckReadiness``: every reported dependency is ok, down or disabled."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared.readiness import CheckReadiness, HealthProbe


@dataclass
class StubProbe(HealthProbe):
    name: str
    answers: bool

    async def check(self) -> bool:
        return self.answers


async def test_an_unconfigured_dependency_is_disabled_and_does_not_count() -> None:
    readiness = await CheckReadiness((StubProbe("database", answers=True),))()
    assert readiness.ready
    assert readiness.checks == {"database": "ok", "redis": "disabled"}


async def test_a_dependency_that_does_not_answer_is_down() -> None:
    readiness = await CheckReadiness((StubProbe("database", answers=True), StubProbe("redis", answers=False)))()
    assert not readiness.ready
    assert readiness.checks == {"database": "ok", "redis": "down"}
