"""``DeliveryFigures``: every campaign delivery counted by outcome (``/metrics``)."""

from __future__ import annotations

from application.broadcast.ports import BroadcastUnitOfWork
from domain.broadcast.delivery import DeliveryError, DeliveryStatus

__all__ = ["DeliveryFigures"]


class DeliveryFigures:
    """The delivery rows are the sends' record of truth, whichever worker sent them, so
    this is what ``/metrics`` reports as campaign sends by outcome. Not authorized here:
    the caller (``/metrics``) is meant for the internal network."""

    def __init__(self, uow: BroadcastUnitOfWork) -> None:
        self._uow = uow

    async def __call__(self) -> dict[tuple[DeliveryStatus, DeliveryError | None], int]:
        async with self._uow as uow:
            return await uow.deliveries.count_by_outcome()
