"""The audit log's contract, held by every implementation: round trip, filters, order, paging."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from application.shared.audit import AuditFilters
from domain.shared.audit import AuditEntry, AuditEntryId
from domain.shared.ids import UserId
from domain.shared.pagination import PageRequest
from tests.integration.conftest import UowFactory
from tests.support.builders import T0

ADA, BOB = UserId(uuid4()), UserId(uuid4())


def an_entry(type_: str, minute: int, actor: UserId | None, subject: UserId | None) -> AuditEntry:
    return AuditEntry(
        id=AuditEntryId(uuid4()),
        at=T0 + timedelta(minutes=minute),
        type=type_,
        actor_id=actor,
        subject_id=subject,
        ip="198.51.100.1",
        user_agent="ua",
        detail={"role": "admin", "is_active": False, "n": 2, "none": None},
    )


async def _ids(new_uow: UowFactory, filters: AuditFilters, page: PageRequest | None = None) -> list[str]:
    async with new_uow() as uow:
        found = await uow.audit_log.page(filters, page or PageRequest())
    return [e.type for e in found.items]


async def test_entries_round_trip_and_filter_newest_first(new_uow: UowFactory) -> None:
    entries = [
        an_entry("user.registered", 0, ADA, ADA),
        an_entry("login.failed", 1, None, None),
        an_entry("user.updated", 2, BOB, ADA),
        an_entry("login.succeeded", 3, BOB, BOB),
    ]
    async with new_uow() as uow:
        for entry in entries:
            await uow.audit_log.record(entry)
        await uow.commit()
    async with new_uow() as uow:
        everything = await uow.audit_log.page(AuditFilters(), PageRequest())
    assert list(everything.items) == entries[::-1]
    assert everything.total == 4
    assert await _ids(new_uow, AuditFilters(type="login.failed")) == ["login.failed"]
    assert await _ids(new_uow, AuditFilters(user_id=BOB)) == ["login.succeeded", "user.updated"]
    assert await _ids(new_uow, AuditFilters(user_id=ADA)) == ["user.updated", "user.registered"]
    assert await _ids(new_uow, AuditFilters(subject_id=ADA)) == ["user.updated", "user.registered"]
    window = AuditFilters(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert await _ids(new_uow, window) == ["user.updated", "login.failed"]
    assert await _ids(new_uow, AuditFilters(), PageRequest(page=2, size=3)) == ["user.registered"]


async def test_an_uncommitted_entry_is_gone(new_uow: UowFactory) -> None:
    async with new_uow() as uow:
        await uow.audit_log.record(an_entry("logout", 0, ADA, ADA))
    assert await _ids(new_uow, AuditFilters()) == []
