"""Time and identity as ports, so use-cases stay deterministic under test."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    @abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class IdGenerator(Protocol):
    @abstractmethod
    def new_id(self) -> UUID:
        """A fresh identifier; time-ordered (UUIDv7) in production for index locality."""
