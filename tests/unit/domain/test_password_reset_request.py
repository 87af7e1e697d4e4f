"""``PasswordResetRequest``: a request for a reset link is about an address, not an account."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import UUID

from domain.identity.email import Email
from domain.identity.events import PasswordResetRequested
from domain.identity.password_reset import PasswordResetRequest, PasswordResetRequestId
from domain.shared.events import Aggregate

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
REQUEST_ID = PasswordResetRequestId(UUID(int=3))


def test_recording_a_request_records_one_event_naming_the_normalized_address_and_no_account() -> None:
    request = PasswordResetRequest.record(request_id=REQUEST_ID, email=Email.parse("  ADA@Example.com "), now=T0)

    assert isinstance(request, Aggregate)
    assert (request.id, request.email.value, request.requested_at) == (REQUEST_ID, "ada@example.com", T0)
    assert request.events == [PasswordResetRequested(occurred_at=T0, email="ada@example.com")]
    assert request.aggregate_type == "password_reset_request"


def test_the_event_carries_the_address_alone() -> None:
    fields = [f.name for f in dataclasses.fields(PasswordResetRequested) if f.name != "occurred_at"]
    assert fields == ["email"]
