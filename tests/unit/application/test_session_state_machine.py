"""A state machine over the identity use-cases, compared step by step with a dict model.

The model knows, per session, its owner, its current and rotated-away refresh tokens, its idle
and absolute expiry and whether it was revoked; per e-mail, its password and the failed
attempts that count towards the lockout; and every access token issued, with its issue time.
Rules drive the real use-cases (sync rules over an ``asyncio.Runner``, see STYLE.md section 9)
and check each outcome; invariants check, without changing anything, which access tokens
authenticate and which sessions each user sees.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from application.errors import AlreadyExistsError, NotFoundError, RateLimitedError, UnauthenticatedError
from application.identity.change_password import ChangePasswordCommand
from application.identity.log_out import LogOutCommand
from application.identity.refresh_session import RefreshSessionCommand
from application.identity.revoke_session import RevokeSessionCommand
from application.identity.rules import IdentityRules
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from domain.identity.lockout import LockoutPolicy
from domain.identity.session import SessionLifetime
from domain.identity.user import Role
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId
from tests.support.builders import IdentityApp
from tests.unit.application.flows import (
    ACCESS_TTL,
    EMAIL,
    JWT_LEEWAY,
    NEW_PASSWORD,
    OTHER_EMAIL,
    PASSWORD,
    WRONG_PASSWORD,
)
from tests.unit.application.flows import log_in as log_in_flow
from tests.unit.application.flows import register as register_flow

LOCKOUT = LockoutPolicy(threshold=3, window=timedelta(minutes=15), duration=timedelta(minutes=15))
LIFETIME = SessionLifetime(idle=timedelta(minutes=20), absolute=timedelta(minutes=45))
NO_SESSION = SessionId(UUID(int=0))
emails = st.sampled_from([EMAIL, OTHER_EMAIL])

T = TypeVar("T")


@dataclass
class ModelSession:
    email: str
    refresh_token: str
    idle_until: datetime
    absolute_until: datetime
    rotated_away: list[str] = field(default_factory=list)
    revoked: bool = False

    def is_live(self, now: datetime) -> bool:
        return not self.revoked and now < self.idle_until and now < self.absolute_until


@dataclass(frozen=True)
class IssuedAccess:
    token: str
    session_id: SessionId
    issued_at: datetime


class IdentityMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.app = IdentityApp(rules=IdentityRules(lockout=LOCKOUT, session_lifetime=LIFETIME))
        self.passwords: dict[str, str] = {}
        self.user_ids: dict[str, UserId] = {}
        self.failures: dict[str, list[datetime]] = {}
        self.sessions: dict[SessionId, ModelSession] = {}
        self.access: list[IssuedAccess] = []

    def teardown(self) -> None:
        self.runner.close()

    # ------------------------------------------------------------------ helpers

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def refused(self, error: type[Exception], coro: Coroutine[Any, Any, object]) -> Exception:
        with pytest.raises(error) as caught:
            self.run(coro)
        return caught.value

    @property
    def now(self) -> datetime:
        return self.app.clock.now()

    def locked_until(self, email: str) -> datetime | None:
        """Brute force: a failure with ``threshold`` failures in the window ending at it locks."""
        past = self.failures.get(email, [])
        ends = [
            t + LOCKOUT.duration
            for t in past
            if sum(1 for u in past if t - LOCKOUT.window <= u <= t) >= LOCKOUT.threshold
        ]
        return max((end for end in ends if end > self.now), default=None)

    def refused_while_locked(self, until: datetime, coro: Coroutine[Any, Any, object]) -> None:
        error = self.refused(RateLimitedError, coro)
        assert isinstance(error, RateLimitedError)
        assert error.retry_after == math.ceil((until - self.now).total_seconds())

    def live_ids(self) -> list[SessionId]:
        return sorted(sid for sid, s in self.sessions.items() if s.is_live(self.now))

    def actor(self, session_id: SessionId) -> Actor:
        return Actor(self.user_ids[self.sessions[session_id].email], session_id, Role.USER)

    def has_live_session(self) -> bool:
        return bool(self.live_ids())

    # ------------------------------------------------------------------ rules

    @initialize(email=emails)
    def start_with_one_user_signed_in_on_two_devices(self, email: str) -> None:
        self.register(email)
        self.log_in(email, right=True)
        self.log_in(email, right=True)

    @rule(email=emails)
    def register(self, email: str) -> None:
        if email in self.passwords:
            self.refused(AlreadyExistsError, register_flow(self.app, email, PASSWORD))
            return
        user = self.run(register_flow(self.app, email, PASSWORD))
        self.passwords[email], self.user_ids[email] = PASSWORD, user.id

    @rule(email=emails, right=st.booleans())
    def log_in(self, email: str, right: bool) -> None:
        password = self.passwords.get(email, PASSWORD) if right else WRONG_PASSWORD
        until = self.locked_until(email)
        if until is not None:
            self.refused_while_locked(until, log_in_flow(self.app, email, password))
            event("log_in: locked")
            return
        if email not in self.passwords or not right:
            self.refused(UnauthenticatedError, log_in_flow(self.app, email, password))
            self.failures.setdefault(email, []).append(self.now)
            event("log_in: failed")
            return
        pair = self.run(log_in_flow(self.app, email, password))
        self.failures.pop(email, None)
        assert pair.session_id not in self.sessions
        self.sessions[pair.session_id] = ModelSession(
            email=email,
            refresh_token=pair.refresh_token,
            idle_until=self.now + LIFETIME.idle,
            absolute_until=self.now + LIFETIME.absolute,
        )
        self.access.append(IssuedAccess(pair.access_token, pair.session_id, self.now))

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data(), stale=st.booleans())
    def refresh(self, data: st.DataObject, stale: bool) -> None:
        session_id = data.draw(st.sampled_from(sorted(self.sessions)), label="session")
        model = self.sessions[session_id]
        stale = stale and bool(model.rotated_away)
        token = data.draw(st.sampled_from(model.rotated_away), label="stale") if stale else model.refresh_token
        command = RefreshSessionCommand(refresh_token=token)
        if not model.is_live(self.now):
            self.refused(UnauthenticatedError, self.app.refresh(command))
            event("refresh: session over")
            return
        if stale:
            self.refused(UnauthenticatedError, self.app.refresh(command))
            model.revoked = True  # reuse: the whole session ends
            event("refresh: reuse revoked the session")
            return
        pair = self.run(self.app.refresh(command))
        assert pair.session_id == session_id
        model.rotated_away.append(model.refresh_token)
        model.refresh_token = pair.refresh_token
        model.idle_until = min(self.now + LIFETIME.idle, model.absolute_until)
        self.access.append(IssuedAccess(pair.access_token, session_id, self.now))
        event("refresh: rotated")

    @precondition(has_live_session)
    @rule(data=st.data(), everywhere=st.booleans())
    def log_out(self, data: st.DataObject, everywhere: bool) -> None:
        session_id = data.draw(st.sampled_from(self.live_ids()), label="session")
        self.run(self.app.log_out(LogOutCommand(actor=self.actor(session_id), all_sessions=everywhere)))
        owner = self.sessions[session_id].email
        for sid, model in self.sessions.items():
            if sid == session_id or (everywhere and model.email == owner):
                model.revoked = True

    @precondition(has_live_session)
    @rule(data=st.data())
    def revoke_session(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(self.live_ids()), label="caller")
        target_id = data.draw(st.sampled_from(sorted(self.sessions)), label="target")
        command = RevokeSessionCommand(actor=self.actor(session_id), session_id=target_id)
        if self.sessions[target_id].email != self.sessions[session_id].email:
            self.refused(NotFoundError, self.app.revoke_session(command))
            event("revoke_session: not found")
            return
        self.run(self.app.revoke_session(command))
        self.sessions[target_id].revoked = True

    @precondition(has_live_session)
    @rule(data=st.data(), right=st.booleans())
    def change_password(self, data: st.DataObject, right: bool) -> None:
        session_id = data.draw(st.sampled_from(self.live_ids()), label="session")
        email = self.sessions[session_id].email
        current = self.passwords[email]
        new = NEW_PASSWORD if current == PASSWORD else PASSWORD

        def command() -> Coroutine[Any, Any, None]:
            given = current if right else WRONG_PASSWORD
            return self.app.change_password(ChangePasswordCommand(self.actor(session_id), given, new))

        until = self.locked_until(email)
        if until is not None:
            self.refused_while_locked(until, command())
            event("change_password: locked")
            return
        if not right:
            error = self.refused(InvalidValueError, command())
            assert isinstance(error, InvalidValueError)
            assert error.field == "current_password"
            self.failures.setdefault(email, []).append(self.now)
            return
        self.run(command())
        event("change_password: changed")
        self.passwords[email] = new
        self.failures.pop(email, None)  # proving the password forgets the failures before it, as a login does
        for sid, model in self.sessions.items():
            if model.email == email and sid != session_id:
                model.revoked = True

    @rule(seconds=st.integers(min_value=1, max_value=900))
    def advance_clock(self, seconds: int) -> None:
        self.app.clock.advance(timedelta(seconds=seconds))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def access_tokens_authenticate_only_while_fresh_and_their_session_lives(self) -> None:
        for issued in self.access:
            model = self.sessions[issued.session_id]
            expected = model.is_live(self.now) and self.now < issued.issued_at + ACCESS_TTL + JWT_LEEWAY
            try:
                actor = self.run(self.app.authenticate(issued.token))
            except UnauthenticatedError:
                assert not expected, f"live, fresh token of session {issued.session_id} was refused"
            else:
                assert expected, f"token of dead session or expired token {issued.session_id} authenticated"
                assert actor == self.actor(issued.session_id)
        # An expired access token never comes back: stop checking it once it was checked.
        self.access = [a for a in self.access if self.now < a.issued_at + ACCESS_TTL + JWT_LEEWAY]

    @invariant()
    def each_user_lists_exactly_the_sessions_the_model_holds_live(self) -> None:
        for email, user_id in self.user_ids.items():
            views = self.run(self.app.list_sessions(Actor(user_id, NO_SESSION, Role.USER)))
            listed = sorted(v.session.id for v in views)
            assert listed == [sid for sid in self.live_ids() if self.sessions[sid].email == email]


IdentityMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestIdentityStateMachine = IdentityMachine.TestCase
