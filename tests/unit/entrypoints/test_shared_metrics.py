"""``serve``'s workers share one metrics directory: a crashed worker's live gauges leave it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.http.asgi import _forget_dead_workers

_CRASH = """
from adapters.prometheus.metrics import WEBSOCKETS
WEBSOCKETS.inc()
import os
os._exit(9)  # dies without any clean-up, as after SIGKILL
"""


def test_a_crashed_workers_live_gauges_are_dropped_and_a_live_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    crashed = subprocess.run([sys.executable, "-c", _CRASH], env=env, check=False, timeout=60)
    assert crashed.returncode == 9
    [dead] = tmp_path.glob("gauge_livesum_*.db")
    alive = tmp_path / f"gauge_livesum_{os.getpid()}.db"
    alive.write_bytes(dead.read_bytes())  # this process stands for a worker still serving
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    _forget_dead_workers()
    assert sorted(p.name for p in tmp_path.glob("gauge_live*")) == [alive.name]
