"""``AccountsMachine``: account administration against a dict model, checked through sessions.

The model knows, per account, its id, role, whether it is active and whether it was deleted
(an e-mail may be registered again after a deletion: a new account, a new id); per session,
its account, its newest tokens and whether it ended. Rules drive the real use-cases (register,
log in, refresh, and an admin's promote / demote / deactivate / reactivate, delete by an
admin or by oneself), each through a session whose access token is authenticated first, as a
request is; each outcome, and each refusal, is the one the model predicts. Invariants check,
without changing anything, that exactly the live sessions authenticate, that exactly those of
active admins may list accounts (an admin endpoint), that the store holds exactly the model's
accounts, that an active admin is always left and that an ended session never comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from application.errors import AlreadyExistsError, ForbiddenError, NotFoundError, UnauthenticatedError
from application.identity.create_admin import CreateAdminCommand
from application.identity.delete_user import DeleteUserCommand
from application.identity.list_users import ListUsersCommand
from application.identity.log_in import LogInCommand
from application.identity.refresh_session import RefreshSessionCommand
from application.identity.register_user import RegisterUserCommand
from application.identity.update_user import UpdateUserCommand
from application.shared.actor import Actor
from domain.identity.ids import SessionId
from domain.identity.user import LastActiveAdminError, Role
from domain.shared.ids import UserId
from domain.shared.pagination import MAX_PAGE_SIZE
from entrypoints.testing.harness import Harness, harness_settings
from entrypoints.testing.machines.base import PASSWORD, HarnessMachine

__all__ = ["AccountsMachine"]

Change = Literal["promote", "demote", "deactivate", "reactivate"]

NO_LOCKOUT = 1_000_000
"""A lockout threshold no run reaches: logins refused for a closed account are failures, and
the lockout is ``SessionMachine``'s to check, not this machine's."""
_FIRST_ADMIN = "root"
_NO_SESSION = SessionId(UUID(int=0))
_NOBODY = UserId(UUID(int=0))
_registrants = st.sampled_from(["ada", "bob", "cy"])
_names = st.sampled_from([_FIRST_ADMIN, "ada", "bob", "cy"])
_changes: st.SearchStrategy[Change] = st.sampled_from(["promote", "demote", "deactivate", "reactivate"])


@dataclass
class Account:
    name: str
    role: Role
    active: bool = True
    deleted: bool = False

    @property
    def is_active_admin(self) -> bool:
        return not self.deleted and self.active and self.role is Role.ADMIN


@dataclass
class ModelSession:
    user_id: UserId
    access_token: str
    refresh_token: str
    live: bool = True


class AccountsMachine(HarnessMachine):
    """A first admin (made by ``CreateAdmin``, signed in) and up to three registrants; any
    session's caller promotes, demotes, deactivates, reactivates or deletes any account, logs
    in and refreshes. Each refusal is the predicted one: 401 for an ended session or a closed
    or unknown account, 404 for a deleted target, 403 for a non-admin (or, deleting, someone
    else's account), 409 for taking the last active admin away. Settings turn the lockout off
    (``NO_LOCKOUT``); override ``open_harness`` keeping that, and give each example a store
    with no account of its own (on a shared database: empty it), since which admin is the
    last active one depends on every account stored."""

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[UserId, Account] = {}
        self.current: dict[str, UserId] = {}
        """Per name, the newest account registered with its e-mail (perhaps deleted since)."""
        self.sessions: dict[SessionId, ModelSession] = {}
        self.ended: set[SessionId] = set()
        """Every session the model has seen end: none may ever be live again."""

    def open_harness(self) -> Harness:
        return Harness(harness_settings(lockout_threshold=NO_LOCKOUT))

    # ------------------------------------------------------------------ helpers

    def account_of(self, session_id: SessionId) -> Account:
        return self.accounts[self.sessions[session_id].user_id]

    def active_admins(self) -> list[UserId]:
        return sorted(uid for uid, account in self.accounts.items() if account.is_active_admin)

    def end_sessions(self, user_id: UserId) -> None:
        for sid, session in self.sessions.items():
            if session.user_id == user_id and session.live:
                session.live = False
                self.ended.add(sid)

    def draw_caller(self, data: st.DataObject) -> SessionId:
        """A session to act through: often a live admin's, else any (live or ended) one."""
        newest_first = list(reversed(self.sessions))
        admins = [sid for sid in newest_first if self.sessions[sid].live and self.account_of(sid).is_active_admin]
        wants_admin = data.draw(st.booleans(), label="caller is a live admin")
        return data.draw(st.sampled_from(admins if admins and wants_admin else newest_first), label="caller")

    def draw_target(self, data: st.DataObject) -> UserId:
        """An account to act on: any the run has made (the caller's own, deleted ones)."""
        # Newest first: what hypothesis draws most and shrinks to is the latest registrant.
        return data.draw(st.sampled_from(list(reversed(self.accounts))), label="target")

    def authenticated(self, session_id: SessionId) -> Actor | None:
        """The actor of the session's access token, as a request gets it; None (after
        checking the refusal) for a session the model holds ended."""
        session = self.sessions[session_id]
        if not session.live:
            self.refused(UnauthenticatedError, self.harness.authenticate(session.access_token))
            return None
        account = self.accounts[session.user_id]
        try:
            actor = self.run(self.harness.authenticate(session.access_token))
        except UnauthenticatedError:
            raise AssertionError(f"live session {session_id} of {account} was refused") from None
        assert actor == Actor(session.user_id, session_id, account.role), f"{actor} is not {account}"
        return actor

    # ------------------------------------------------------------------ rules

    @initialize()
    def start_with_one_admin_signed_in(self) -> None:
        result = self.run(
            self.harness.create_admin(CreateAdminCommand(email=self.email(_FIRST_ADMIN), password=PASSWORD))
        )
        assert result.created
        assert result.user.role is Role.ADMIN
        self.accounts[result.user.id] = Account(_FIRST_ADMIN, Role.ADMIN)
        self.current[_FIRST_ADMIN] = result.user.id
        self.log_in(_FIRST_ADMIN)

    @initialize(name=_registrants, sign_in=st.booleans())
    def and_one_registrant(self, name: str, sign_in: bool) -> None:
        # Rules may be left out of a whole example (swarm testing): with ``register`` out,
        # there would be nobody to promote, demote or delete but the first admin.
        self.register(name)
        if sign_in:
            self.log_in(name)

    @rule(name=_names)
    def register(self, name: str) -> None:
        command = RegisterUserCommand(email=self.email(name), password=PASSWORD)
        known = self.current.get(name)
        if known is not None and not self.accounts[known].deleted:
            self.refused(AlreadyExistsError, self.harness.register(command))
            return
        user = self.run(self.harness.register(command))
        assert user.id not in self.accounts
        assert (user.role, user.is_active) == (Role.USER, True)
        self.accounts[user.id] = Account(name, Role.USER)
        self.current[name] = user.id
        event("register: again after a deletion" if known is not None else "register: new")

    @rule(data=st.data())
    def log_in_to_a_known_email(self, data: st.DataObject) -> None:
        self.log_in(data.draw(st.sampled_from(list(reversed(self.current))), label="name"))

    @rule(name=_names)
    def log_in(self, name: str) -> None:
        command = LogInCommand(email=self.email(name), password=PASSWORD)
        known = self.current.get(name)
        if known is None or self.accounts[known].deleted or not self.accounts[known].active:
            self.refused(UnauthenticatedError, self.harness.log_in(command))
            event("log_in: refused (unknown, deleted or deactivated)")
            return
        pair = self.run(self.harness.log_in(command))
        assert pair.session_id not in self.sessions
        self.sessions[pair.session_id] = ModelSession(known, pair.access_token, pair.refresh_token)
        event(f"log_in: {self.accounts[known].role} signed in")

    @rule(data=st.data())
    def refresh(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(list(reversed(self.sessions))), label="session")
        session = self.sessions[session_id]
        command = RefreshSessionCommand(refresh_token=session.refresh_token)
        if not session.live:
            self.refused(UnauthenticatedError, self.harness.refresh(command))
            event("refresh: ended session stays ended")
            return
        pair = self.run(self.harness.refresh(command))
        assert pair.session_id == session_id
        session.access_token, session.refresh_token = pair.access_token, pair.refresh_token

    @rule(data=st.data(), change=_changes)
    def update_user(self, data: st.DataObject, change: Change) -> None:
        caller = self.draw_caller(data)
        target_id = self.draw_target(data)
        actor = self.authenticated(caller)
        if actor is None:
            event("update_user: caller's session ended (401)")
            return
        target = self.accounts[target_id]
        role = {"promote": Role.ADMIN, "demote": Role.USER}.get(change)
        is_active = {"deactivate": False, "reactivate": True}.get(change)
        call = self.harness.update_user(UpdateUserCommand(actor, target_id, role=role, is_active=is_active))
        if target.deleted:
            self.refused(NotFoundError, call)
            event("update_user: deleted account (404)")
            return
        if not self.account_of(caller).is_active_admin:
            self.refused(ForbiddenError, call)
            event("update_user: not an admin (403)")
            return
        if change in ("demote", "deactivate") and self.active_admins() == [target_id]:
            self.refused(LastActiveAdminError, call)
            event(f"update_user: {change} the last active admin (409)")
            return
        user = self.run(call)
        if role is not None and role is not target.role:
            target.role = role
            self.end_sessions(target_id)
        if is_active is False and target.active:
            self.end_sessions(target_id)
        if is_active is not None:
            target.active = is_active
        assert (user.id, user.role, user.is_active) == (target_id, target.role, target.active)
        event(f"update_user: {change}" + (" oneself" if target_id == actor.user_id else ""))

    @rule(data=st.data())
    def delete_user(self, data: st.DataObject) -> None:
        caller = self.draw_caller(data)
        target_id = self.draw_target(data)
        actor = self.authenticated(caller)
        if actor is None:
            event("delete_user: caller's session ended (401)")
            return
        target = self.accounts[target_id]
        call = self.harness.delete_user(DeleteUserCommand(actor, target_id))
        if target.deleted:
            self.refused(NotFoundError, call)
            event("delete_user: deleted already (404)")
            return
        oneself = target_id == actor.user_id
        if not oneself and not self.account_of(caller).is_active_admin:
            self.refused(ForbiddenError, call)
            event("delete_user: someone else's account, not an admin (403)")
            return
        if self.active_admins() == [target_id]:
            self.refused(LastActiveAdminError, call)
            event("delete_user: the last active admin (409)")
            return
        self.run(call)
        target.deleted = True
        self.end_sessions(target_id)
        event("delete_user: oneself" if oneself else "delete_user: by an admin")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def exactly_live_sessions_authenticate_and_exactly_active_admins_list_accounts(self) -> None:
        for session_id in sorted(self.sessions):
            actor = self.authenticated(session_id)
            if actor is None:
                continue
            listing = self.harness.list_users(ListUsersCommand(actor, q=self.nonce))
            if self.account_of(session_id).is_active_admin:
                self.run(listing)
            else:
                self.refused(ForbiddenError, listing)

    @invariant()
    def the_store_holds_exactly_the_model_accounts(self) -> None:
        # Read as an admin would, whoever is signed in: this checks the store, not the caller.
        reader = Actor(_NOBODY, _NO_SESSION, Role.ADMIN)
        page = self.run(self.harness.list_users(ListUsersCommand(reader, q=self.nonce, size=MAX_PAGE_SIZE)))
        stored = {(u.id, u.role, u.is_active) for u in page.items}
        expected = {(uid, a.role, a.active) for uid, a in self.accounts.items() if not a.deleted}
        assert stored == expected, f"store {stored} != model {expected}"

    @invariant()
    def an_active_admin_is_always_left(self) -> None:
        assert self.active_admins(), "no active admin left"

    @invariant()
    def ended_sessions_never_come_back(self) -> None:
        # ``authenticated`` checked each of them was refused; here the model itself is held
        # to never reviving one (reactivation and re-promotion open no old session).
        assert not any(self.sessions[sid].live for sid in self.ended)
        assert self.ended == {sid for sid, s in self.sessions.items() if not s.live}
