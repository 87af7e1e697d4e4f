"""Every error a use-case or domain rule can raise has exactly one HTTP mapping."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import application
import domain
from application.errors import ApplicationError
from domain.shared.errors import DomainError
from entrypoints.http.problems import PROBLEMS


def _import_all(package: object) -> None:
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):  # type: ignore[attr-defined]
        importlib.import_module(module.name)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


@pytest.mark.parametrize("base", [DomainError, ApplicationError])
def test_every_error_class_has_its_own_problem_entry(base: type) -> None:
    _import_all(domain)
    _import_all(application)
    missing = sorted(cls.__qualname__ for cls in {base, *_subclasses(base)} if cls not in PROBLEMS)
    assert missing == []


def test_statuses_are_client_errors_or_503() -> None:
    assert all(400 <= kind.status < 500 or kind.status == 503 for kind in PROBLEMS.values())
