"""The migration scripts are found through the installed package, not a path into a checkout."""

from __future__ import annotations

from pathlib import Path

import alembic
import pytest

from entrypoints.migrations import migrations_dir


def test_scripts_come_with_the_installed_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTSIDE_MIGRATIONS_DIR", raising=False)
    found = migrations_dir()
    assert (found / "env.py").is_file()
    assert (found / "script.py.mako").is_file()
    assert sorted((found / "versions").glob("0001_*.py"))
    assert not found.resolve().is_relative_to(Path(alembic.__file__).resolve().parent)


def test_portside_migrations_dir_overrides_the_installed_scripts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PORTSIDE_MIGRATIONS_DIR", str(tmp_path))
    assert migrations_dir() == tmp_path
