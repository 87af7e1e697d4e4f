"""``SessionMachine``: the identity use-cases, compared step by step with a dict model.

The model knows, per session, its owner, its current and rotated-away refresh tokens, its idle
and absolute expiry and whether it was revoked; per user, their password and the failed
attempts that count towards the lockout; and every access token issued, with its issue time.
Rules drive the real use-cases and check each outcome; invariants check, without changing
anything, which access tokens authenticate and which sessions each user sees. Lifetimes and
the lockout come from the harness's settings.
"""

from __future__ import annotations

import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from application.errors import AlreadyExistsError, NotFoundError, RateLimitedError, UnauthenticatedError
from application.identity.change_password import ChangePasswordCommand
from application.identity.log_in import LogInCommand
from application.identity.log_out import LogOutCommand
from application.identity.refresh_session import RefreshSessionCommand
from application.identity.register_user import RegisterUserCommand
from application.identity.revoke_session import RevokeSessionCommand
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from domain.identity.user import Role
from domain.shared.errors import InvalidValueError
from domain.shared.ids import UserId
from entrypoints.testing.harness import Harness, harness_settings
from entrypoints.testing.machines.base import PASSWORD, HarnessMachine

__all__ = ["SessionMachine"]

NEW_PASSWORD = "another-sturdy-passphrase-7"
WRONG_PASSWORD = "not-the-passphrase-at-all"
JWT_LEEWAY = timedelta(seconds=5)
"""How long past its expiry the token issuer still accepts an access token (clock skew)."""
_NO_SESSION = SessionId(UUID(int=0))
_users = st.sampled_from(["ada", "grace"])


@dataclass
class ModelSession:
    user: str
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


class SessionMachine(HarnessMachine):
    """Two users register, log in (right and wrong), refresh (with the newest token or a
    rotated-away one), log out (here or everywhere), revoke sessions and change passwords
    while the clock moves on. By default sessions idle out after 20 minutes and end after 45,
    and three failures lock an e-mail for 15 minutes, so all of it happens in a short run."""

    def __init__(self) -> None:
        super().__init__()
        s = self.harness.settings
        self.threshold = s.lockout_threshold
        self.window, self.duration = timedelta(seconds=s.lockout_window), timedelta(seconds=s.lockout_duration)
        self.idle, self.absolute = timedelta(seconds=s.refresh_idle_ttl), timedelta(seconds=s.refresh_absolute_ttl)
        self.access_ttl = timedelta(seconds=s.access_token_ttl)
        self.passwords: dict[str, str] = {}
        self.user_ids: dict[str, UserId] = {}
        self.failures: dict[str, list[datetime]] = {}
        self.sessions: dict[SessionId, ModelSession] = {}
        self.access: list[IssuedAccess] = []

    def open_harness(self) -> Harness:
        return Harness(
            harness_settings(
                lockout_threshold=3,
                lockout_window=900,
                lockout_duration=900,
                refresh_idle_ttl=1200,
                refresh_absolute_ttl=2700,
            )
        )

    # ------------------------------------------------------------------ helpers

    @property
    def now(self) -> datetime:
        return self.harness.clock.now()

    def locked_until(self, user: str) -> datetime | None:
        """Brute force: a failure with ``threshold`` failures in the window ending at it locks."""
        past = self.failures.get(user, [])
        ends = [t + self.duration for t in past if sum(1 for u in past if t - self.window <= u <= t) >= self.threshold]
        return max((end for end in ends if end > self.now), default=None)

    def refused_while_locked(self, until: datetime, coroutine: Coroutine[Any, Any, object]) -> None:
        error = self.refused(RateLimitedError, coroutine)
        assert error.retry_after == math.ceil((until - self.now).total_seconds())

    def live_ids(self) -> list[SessionId]:
        return sorted(sid for sid, s in self.sessions.items() if s.is_live(self.now))

    def actor(self, session_id: SessionId) -> Actor:
        return Actor(self.user_ids[self.sessions[session_id].user], session_id, Role.USER)

    def has_live_session(self) -> bool:
        return bool(self.live_ids())

    # ------------------------------------------------------------------ rules

    @initialize(user=_users)
    def start_with_one_user_signed_in_on_two_devices(self, user: str) -> None:
        self.register(user)
        self.log_in(user, right=True)
        self.log_in(user, right=True)

    @rule(user=_users)
    def register(self, user: str) -> None:
        command = RegisterUserCommand(email=self.email(user), password=PASSWORD)
        if user in self.passwords:
            self.refused(AlreadyExistsError, self.harness.register(command))
            return
        registered = self.run(self.harness.register(command))
        self.passwords[user], self.user_ids[user] = PASSWORD, registered.id

    @rule(user=_users, right=st.booleans())
    def log_in(self, user: str, right: bool) -> None:
        password = self.passwords.get(user, PASSWORD) if right else WRONG_PASSWORD
        command = LogInCommand(email=self.email(user), password=password)
        until = self.locked_until(user)
        if until is not None:
            self.refused_while_locked(until, self.harness.log_in(command))
            event("log_in: locked")
            return
        if user not in self.passwords or not right:
            self.refused(UnauthenticatedError, self.harness.log_in(command))
            self.failures.setdefault(user, []).append(self.now)
            event("log_in: failed")
            return
        pair = self.run(self.harness.log_in(command))
        self.failures.pop(user, None)
        assert pair.session_id not in self.sessions
        self.sessions[pair.session_id] = ModelSession(
            user=user,
            refresh_token=pair.refresh_token,
            idle_until=self.now + self.idle,
            absolute_until=self.now + self.absolute,
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
            self.refused(UnauthenticatedError, self.harness.refresh(command))
            event("refresh: session over")
            return
        if stale:
            self.refused(UnauthenticatedError, self.harness.refresh(command))
            model.revoked = True  # reuse: the whole session ends
            event("refresh: reuse revoked the session")
            return
        pair = self.run(self.harness.refresh(command))
        assert pair.session_id == session_id
        model.rotated_away.append(model.refresh_token)
        model.refresh_token = pair.refresh_token
        model.idle_until = min(self.now + self.idle, model.absolute_until)
        self.access.append(IssuedAccess(pair.access_token, session_id, self.now))
        event("refresh: rotated")

    @precondition(has_live_session)
    @rule(data=st.data(), everywhere=st.booleans())
    def log_out(self, data: st.DataObject, everywhere: bool) -> None:
        session_id = data.draw(st.sampled_from(self.live_ids()), label="session")
        self.run(self.harness.log_out(LogOutCommand(actor=self.actor(session_id), all_sessions=everywhere)))
        owner = self.sessions[session_id].user
        for sid, model in self.sessions.items():
            if sid == session_id or (everywhere and model.user == owner):
                model.revoked = True

    @precondition(has_live_session)
    @rule(data=st.data())
    def revoke_session(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(self.live_ids()), label="caller")
        target_id = data.draw(st.sampled_from(sorted(self.sessions)), label="target")
        command = RevokeSessionCommand(actor=self.actor(session_id), session_id=target_id)
        if self.sessions[target_id].user != self.sessions[session_id].user:
            self.refused(NotFoundError, self.harness.revoke_session(command))
            event("revoke_session: not found")
            return
        self.run(self.harness.revoke_session(command))
        self.sessions[target_id].revoked = True

    @precondition(has_live_session)
    @rule(data=st.data(), right=st.booleans())
    def change_password(self, data: st.DataObject, right: bool) -> None:
        session_id = data.draw(st.sampled_from(self.live_ids()), label="session")
        user = self.sessions[session_id].user
        current = self.passwords[user]
        new = NEW_PASSWORD if current == PASSWORD else PASSWORD

        def command() -> Coroutine[Any, Any, None]:
            given = current if right else WRONG_PASSWORD
            return self.harness.change_password(ChangePasswordCommand(self.actor(session_id), given, new))

        until = self.locked_until(user)
        if until is not None:
            self.refused_while_locked(until, command())
            event("change_password: locked")
            return
        if not right:
            error = self.refused(InvalidValueError, command())
            assert error.field == "current_password"
            self.failures.setdefault(user, []).append(self.now)
            return
        self.run(command())
        event("change_password: changed")
        self.passwords[user] = new
        self.failures.pop(user, None)  # proving the password forgets the failures before it, as a login does
        for sid, model in self.sessions.items():
            if model.user == user and sid != session_id:
                model.revoked = True

    @rule(seconds=st.integers(min_value=1, max_value=900))
    def advance_clock(self, seconds: int) -> None:
        self.harness.clock.advance(timedelta(seconds=seconds))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def access_tokens_authenticate_only_while_fresh_and_their_session_lives(self) -> None:
        for issued in self.access:
            model = self.sessions[issued.session_id]
            expected = model.is_live(self.now) and self.now < issued.issued_at + self.access_ttl + JWT_LEEWAY
            try:
                actor = self.run(self.harness.authenticate(issued.token))
            except UnauthenticatedError:
                assert not expected, f"live, fresh token of session {issued.session_id} was refused"
            else:
                assert expected, f"token of dead session or expired token {issued.session_id} authenticated"
                assert actor == self.actor(issued.session_id)
        # An expired access token never comes back: stop checking it once it was checked.
        self.access = [a for a in self.access if self.now < a.issued_at + self.access_ttl + JWT_LEEWAY]

    @invariant()
    def each_user_lists_exactly_the_sessions_the_model_holds_live(self) -> None:
        for user, user_id in self.user_ids.items():
            views = self.run(self.harness.list_sessions(Actor(user_id, _NO_SESSION, Role.USER)))
            listed = sorted(v.session.id for v in views)
            assert listed == [sid for sid in self.live_ids() if self.sessions[sid].user == user]
