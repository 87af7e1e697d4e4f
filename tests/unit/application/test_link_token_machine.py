"""Reset and verification links against a model: in any order of mailing, waiting, using,
re-using and forging, a token works exactly once, only before it expires, only for its own
purpose, and a successful reset retires every other reset link of the account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, multiple, rule, run_state_machine_as_test

from adapters.memory.identity import IdentityTables
from application.identity.links import InvalidLinkError
from application.identity.log_in import LogInCommand
from application.identity.register_user import RegisterUserCommand
from application.shared.actor import Actor
from application.shared.email import EmailSender
from application.shared.events import Envelope
from domain.identity.link_token import LinkPurpose
from entrypoints.testing.harness import Harness, overriding
from entrypoints.testing.machines.base import PASSWORD, HarnessMachine
from tests.support.builders import a_harness
from tests.unit.application.link_flows import (
    RecordingSender,
    confirm_reset,
    digest,
    handle,
    request_reset,
    resend,
    token_of,
    verify,
)

LIFETIMES = {LinkPurpose.PASSWORD_RESET: timedelta(minutes=30), LinkPurpose.EMAIL_VERIFICATION: timedelta(hours=48)}
EVENTS = {
    LinkPurpose.PASSWORD_RESET: "password_reset.requested",
    LinkPurpose.EMAIL_VERIFICATION: "email_verification.requested",
}


@dataclass
class Modelled:
    purpose: LinkPurpose
    expires_at: datetime
    used: bool = False


class LinkTokenMachine(HarnessMachine):
    tokens = Bundle("tokens")

    def open_harness(self) -> Harness:
        self.mail = RecordingSender()
        return a_harness(overriding(EmailSender, self.mail))

    def __init__(self) -> None:
        super().__init__()
        self.email = "ada@example.com"
        user = self.run(self.harness.register(RegisterUserCommand(email=self.email, password=PASSWORD)))
        self.user_id = user.id
        self.model: dict[str, Modelled] = {}
        self.verified = False
        self.password_hash = user.password_hash
        self.resets = 0

    @property
    def now(self) -> datetime:
        return self.harness.clock.now()

    def _mail(self, purpose: LinkPurpose) -> str | None:
        """Run the job of the newest event for ``purpose``; the token it mailed, if any."""
        event = self._events(purpose)[-1]
        sent = len(self.mail.sent)
        self.run(handle(self.harness, event))
        if len(self.mail.sent) == sent:
            return None
        token = token_of(self.mail.sent[-1])
        self.model[token] = Modelled(purpose, self.now + LIFETIMES[purpose])
        return token

    @rule(target=tokens)
    def mail_a_reset_link(self) -> str:
        self.run(request_reset(self.harness, self.email))
        token = self._mail(LinkPurpose.PASSWORD_RESET)
        assert token is not None
        return token

    @rule(target=tokens)
    def mail_a_verification_link(self) -> object:
        before = len(self._events(LinkPurpose.EMAIL_VERIFICATION))
        self.run(resend(self.harness, self._signed_in()))
        requested = len(self._events(LinkPurpose.EMAIL_VERIFICATION)) - before
        if self.verified:
            assert requested == 0  # nothing to mail to a verified address
            return multiple()
        assert requested == 1
        token = self._mail(LinkPurpose.EMAIL_VERIFICATION)
        assert token is not None
        return token

    # Around both lifetimes (30 min, 48 h), so tokens are tried just before, at and after expiry.
    @rule(minutes=st.sampled_from([1, 10, 29, 30, 31, 2870, 2879, 2880, 2881]))
    def wait(self, minutes: int) -> None:
        self.harness.clock.advance(timedelta(minutes=minutes))

    @rule(token=tokens, offset=st.sampled_from([-1, 0, 1]))
    def wait_for_the_expiry_of(self, token: str, offset: int) -> None:
        """To a microsecond before, at, or after the moment ``token`` expires, if still ahead."""
        moment = self.model[token].expires_at + timedelta(microseconds=offset)
        if moment > self.now:
            self.harness.clock.advance(moment - self.now)

    def _usable(self, token: str, purpose: LinkPurpose) -> bool:
        known = self.model.get(token)
        return known is not None and known.purpose is purpose and not known.used and self.now < known.expires_at

    @rule(token=st.one_of(tokens, st.text(alphabet="abcdefXYZ0123456789-_", max_size=50)))
    def reset_with(self, token: str) -> None:
        if not self._usable(token, LinkPurpose.PASSWORD_RESET):
            self.refused(InvalidLinkError, confirm_reset(self.harness, token, "a-fresh-passphrase-00"))
            return
        self.resets += 1
        self.run(confirm_reset(self.harness, token, f"a-fresh-passphrase-{self.resets:02}"))
        for modelled in self.model.values():
            if modelled.purpose is LinkPurpose.PASSWORD_RESET:
                modelled.used = True

    @rule(token=st.one_of(tokens, st.text(alphabet="abcdefXYZ0123456789-_", max_size=50)))
    def verify_with(self, token: str) -> None:
        if not self._usable(token, LinkPurpose.EMAIL_VERIFICATION):
            self.refused(InvalidLinkError, verify(self.harness, token))
            return
        self.run(verify(self.harness, token))
        self.model[token].used = True
        self.verified = True

    @invariant()
    def the_store_holds_digests_only_and_agrees_with_the_model(self) -> None:
        stored = self.harness.database.tables(IdentityTables).link_tokens
        assert set(stored) == {digest(token) for token in self.model}
        for token, modelled in self.model.items():
            kept = stored[digest(token)]
            assert (kept.purpose, kept.expires_at, kept.used_at is not None) == (
                modelled.purpose,
                modelled.expires_at,
                modelled.used,
            )

    @invariant()
    def the_account_changed_only_as_the_model_says(self) -> None:
        user = self.harness.database.tables(IdentityTables).users[self.user_id]
        assert user.email_verified == self.verified
        assert (user.password_hash != self.password_hash) == (self.resets > 0)

    def _events(self, purpose: LinkPurpose) -> list[Envelope]:
        return [e for e in self.run(self.harness.events()) if e.name == EVENTS[purpose]]

    def _signed_in(self) -> Actor:
        """A fresh session (a reset ends them all)."""
        password = PASSWORD if self.resets == 0 else f"a-fresh-passphrase-{self.resets:02}"
        pair = self.run(self.harness.log_in(LogInCommand(email=self.email, password=password)))
        return self.run(self.harness.authenticate(pair.access_token))


def test_link_tokens_work_once_before_they_expire_and_for_their_purpose_only() -> None:
    run_state_machine_as_test(
        LinkTokenMachine, settings=settings(settings.default, max_examples=40, stateful_step_count=25, deadline=None)
    )
