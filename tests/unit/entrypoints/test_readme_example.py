"""The README's embedding example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def test_embedding_example_runs(tmp_path: Path) -> None:
    text = README.read_text()
    match = re.search(r"<!-- embed-example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "the embedding example is missing from the README"
    result = subprocess.run(
        [sys.executable, "-c", match.group(1)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["ada@example.com", "True", "user"]
