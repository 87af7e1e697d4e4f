"""The README's examples run as written: embedding the use-cases, and the shipped checks
(``entrypoints.testing``) on an embedder's wiring."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def run_example(marker: str, cwd: Path) -> str:
    """Run the Python block after ``<!-- marker -->`` in a fresh interpreter; its output."""
    match = re.search(rf"<!-- {marker} -->\n```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, f"the README has no example after <!-- {marker} -->"
    result = subprocess.run([sys.executable, "-c", match.group(1)], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_embedding_example_runs(tmp_path: Path) -> None:
    assert run_example("embed-example", tmp_path).split()[-3:] == ["ada@example.com", "True", "user"]


def test_testing_example_runs_the_shipped_checks_on_its_own_wiring(tmp_path: Path) -> None:
    assert run_example("testing-example", tmp_path).splitlines()[-1] == "model checks passed; True"


def test_the_harness_needs_no_hypothesis(tmp_path: Path) -> None:
    """``portside`` without the ``testing`` extra still has the harness; the strategies say what they need."""
    script = (
        "import sys\n"
        "sys.modules['hypothesis'] = None  # as if it were not installed\n"
        "from entrypoints.testing.harness import Harness\n"
        "try:\n"
        "    import entrypoints.testing.strategies\n"
        "except ImportError:\n"
        "    print('harness only')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "harness only\n"), result.stderr
