"""A fresh in-memory identity application per test."""

from __future__ import annotations

import pytest

from tests.support.builders import IdentityApp


@pytest.fixture
def app() -> IdentityApp:
    return IdentityApp()
