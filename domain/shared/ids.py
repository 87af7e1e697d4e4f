"""Identifiers shared by every context. Values come from the ``IdGenerator`` port."""

from __future__ import annotations

from typing import NewType
from uuid import UUID

UserId = NewType("UserId", UUID)
