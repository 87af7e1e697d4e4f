"""``GET /metrics`` read back: samples by name and labels, summed over whatever labels a
query leaves out.

A scrape that gets no 200 (``PORTSIDE_METRICS=off``, or a build without issue 14's
``/metrics``) is kept with ``answered`` False rather than failing at once, so a test checks
everything else first and fails on the metrics last (``require``), saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Scrape", "scrape"]


@dataclass(frozen=True)
class Scrape:
    status: int
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.status == 200

    def has(self, name: str) -> bool:
        return any(sample == name for sample, _, _ in self.samples)

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
        return sum(
            value
            for sample, sample_labels, value in self.samples
            if sample == name and all(sample_labels.get(k) == v for k, v in labels.items())
        )

    def require(self, *names: str) -> None:
        """Fail, naming what is missing, unless ``/metrics`` answered with every one of ``names``."""
        assert self.answered, f"GET /metrics answered {self.status}, not 200"
        missing = [name for name in names if not self.has(name)]
        assert not missing, f"/metrics lacks {missing}"


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    if response.status_code != 200:
        return Scrape(response.status_code)
    samples = [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]
    return Scrape(200, samples)
