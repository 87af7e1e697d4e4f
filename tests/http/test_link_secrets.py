"""Reset and verification tokens exist in the e-mail alone: no response and, in production,
no log line carries a token or its digest (the log sender withholds the text of the mail)."""

from __future__ import annotations

import hashlib
import logging

import httpx
import pytest
import structlog

from application.identity.ports import LinkTokens
from domain.identity.link_token import LinkPurpose
from tests.http.conftest import API
from tests.http.mailroom import api_with_mailroom
from tests.support.settings import test_settings


@pytest.mark.parametrize("env", ["production", "development"])
async def test_tokens_reach_no_response_and_no_production_log(
    pg_url: str, caplog: pytest.LogCaptureFixture, env: str
) -> None:
    caplog.set_level(logging.DEBUG)
    responses: list[httpx.Response] = []
    with structlog.testing.capture_logs() as logs:
        async with api_with_mailroom(test_settings(pg_url, env=env), record=False) as (api, mailroom):
            responses.append(await api.register())
            responses.append(await api.client.post(f"{API}/auth/password-reset", json={"email": "ada@example.com"}))
            await mailroom.run_jobs()  # the welcome (with its verification link) and the reset link
            registered, reset = sorted(mailroom.handled)  # event ids are time-ordered
            tokens = await mailroom.jobs.get(LinkTokens)
            verification = tokens.mint(LinkPurpose.EMAIL_VERIFICATION, registered)
            reset_token = tokens.mint(LinkPurpose.PASSWORD_RESET, reset)
            for _ in range(2):  # the second time: 400
                responses.append(
                    await api.client.post(
                        f"{API}/auth/password-reset/confirm",
                        json={"token": reset_token, "new_password": "a-brand-new-passphrase-7"},
                    )
                )
                responses.append(await api.client.post(f"{API}/auth/verify-email", json={"token": verification}))

    assert [r.status_code for r in responses] == [201, 202, 204, 204, 400, 400]
    secrets = {verification, reset_token}
    secrets |= {hashlib.sha256(token.encode()).hexdigest() for token in secrets}
    for response in responses:
        assert not [secret for secret in secrets if secret in response.text]
    mails = [entry for entry in logs if entry.get("event") == "email"]
    assert sorted(entry["key"] for entry in mails) == sorted([f"{registered}.welcome", f"{reset}.password_reset"])
    logged = f"{logs!r}\n{caplog.text}"
    if env == "production":
        assert not [secret for secret in secrets if secret in logged]
    else:  # the development log shows the links: the check above would see a token
        assert reset_token in logged and verification in logged
