"""Readiness: can this process serve requests right now?"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Literal, Protocol

CheckStatus = Literal["ok", "down", "disabled"]

# Every readiness answer names these, configured or not: a dependency this process runs
# without (Redis on the embedded profile) is "disabled", never absent.
REPORTED_DEPENDENCIES = ("database", "redis")


class HealthProbe(Protocol):
    name: str

    @abstractmethod
    async def check(self) -> bool:
        """True when the dependency answers; never raises."""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, CheckStatus]


class CheckReadiness:
    """Ask every configured dependency; ready only when all of them answer.

    - Each probe's dependency is ``ok`` or ``down``.
    - A dependency of ``REPORTED_DEPENDENCIES`` with no probe is ``disabled`` and does not
      count against readiness.
    """

    def __init__(self, probes: tuple[HealthProbe, ...]) -> None:
        self._probes = probes

    async def __call__(self) -> Readiness:
        results = {probe.name: await probe.check() for probe in self._probes}
        checks: dict[str, CheckStatus] = dict.fromkeys(REPORTED_DEPENDENCIES, "disabled")
        checks.update({name: "ok" if ok else "down" for name, ok in results.items()})
        return Readiness(ready=all(results.values()), checks=checks)
