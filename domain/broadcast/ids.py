"""The broadcast context's identifiers (apart, so deliveries and campaigns can both name them)."""

from __future__ import annotations

from typing import NewType
from uuid import UUID

CampaignId = NewType("CampaignId", UUID)
