"""Readiness: can this process serve requests right now?"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol


class HealthProbe(Protocol):
    name: str

    @abstractmethod
    async def check(self) -> bool:
        """True when the dependency answers; never raises."""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str]


class CheckReadiness:
    """Ask every configured dependency; ready only when all answer."""

    def __init__(self, probes: tuple[HealthProbe, ...]) -> None:
        self._probes = probes

    async def __call__(self) -> Readiness:
        results = {probe.name: await probe.check() for probe in self._probes}
        return Readiness(
            ready=all(results.values()),
            checks={name: "ok" if ok else "unavailable" for name, ok in results.items()},
        )
