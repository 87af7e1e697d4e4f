"""``/metrics`` under ``portside serve`` with two worker processes: whichever process
answers the scrape, the figures are the sum over both (prometheus-client multiprocess)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import httpx
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import portside_serve

REQUESTS = 60


def health_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "portside_http_requests_total" and sample.labels.get("route") == "/health":
                return sample.value
    return 0.0


def health_in_file(path: Path) -> float:
    """The ``/health`` requests one worker counted: its own file in the shared directory."""
    total = 0.0
    for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
        _metric, name, labels, _help = json.loads(key)
        if name == "portside_http_requests_total" and labels.get("route") == "/health":
            total += value
    return total


def wait_for_both_workers(shared: Path) -> None:
    """Each worker writes its files once it has imported the metrics."""
    deadline = time.monotonic() + 20
    while len({re.sub(r"\D", "", p.name) for p in shared.glob("*.db")}) < 2:
        assert time.monotonic() < deadline, "two workers did not start"
        time.sleep(0.1)


async def test_every_scrape_sums_the_counters_of_both_workers(pg_url: str, tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    with portside_serve(
        pg_url, tmp_path, PORTSIDE_WORKERS="2", PORTSIDE_RATE_LIMITS="off", PROMETHEUS_MULTIPROC_DIR=str(shared)
    ) as base:
        wait_for_both_workers(shared)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            before = health_count((await client.get("/metrics")).text)

        async def one() -> int:
            # A connection each, so the kernel spreads them over both processes.
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                return (await client.get("/health")).status_code

        statuses = await asyncio.gather(*(one() for _ in range(REQUESTS)))
        assert set(statuses) == {200}
        served = {path.name: health_in_file(path) for path in shared.glob("counter_*.db")}
        assert len(served) == 2 and all(served.values()), f"both workers answered /health: {served}"
        for _ in range(6):  # scrapes land on either process; each reports the sum
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                response = await client.get("/metrics")
            assert response.status_code == 200
            assert health_count(response.text) - before == REQUESTS
