"""Ports of the identity context."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.files.ports import FileRepository
from application.shared.actor import Actor
from application.shared.audit import AuditLog
from application.shared.unit_of_work import UnitOfWork
from domain.identity.email import Email
from domain.identity.ids import SessionId
from domain.identity.link_token import LinkPurpose, LinkToken
from domain.identity.password_reset import PasswordResetRequest
from domain.identity.session import Session
from domain.identity.user import Role, User
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest


@dataclass(frozen=True, slots=True)
class Principal:
    """Who stands behind a live session, as the store knows it now."""

    user_id: UserId
    role: Role


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What an access token asserts."""

    user_id: UserId
    session_id: SessionId
    role: Role
    expires_at: datetime | None = None
    """When the token stops being accepted: set on the claims read from a token (a new
    token's lifetime is the issuer's to decide)."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class UserQuery:
    """A page of accounts, newest first; ``text`` keeps those whose e-mail or display name
    contains it, ignoring case, every character literal (``%`` and ``_`` included)."""

    text: str | None
    page: PageRequest


class UserRepository(Protocol):
    @abstractmethod
    async def add(self, user: User) -> None:
        """Store a new user. Raises ``AlreadyExistsError`` when the e-mail is taken."""

    @abstractmethod
    async def get(self, user_id: UserId) -> User | None: ...

    @abstractmethod
    async def get_for_update(self, user_id: UserId) -> User | None:
        """``get``, and hold the account until this transaction ends: another unit of work
        that changes it or calls this waits. Sessions opened or ended on the account's behalf
        then never race a change of its password or role."""

    @abstractmethod
    async def get_by_email(self, email: Email) -> User | None: ...

    @abstractmethod
    async def save(self, user: User) -> None:
        """Persist changes to a user that was loaded in this unit of work."""

    @abstractmethod
    async def lock_active_admins(self) -> list[UserId]:
        """The ids of the active admins, each held as ``get_for_update`` holds an account,
        in id order (so two units of work that both call this never deadlock), until this
        transaction ends. Call it before locking any single account. A unit of work that
        waited sees the admins as the one it waited for left them: of two that each demote
        another admin, the second finds one admin fewer."""

    @abstractmethod
    async def delete(self, user: User) -> None:
        """Remove the account with its sessions, refresh tokens and link tokens."""

    @abstractmethod
    async def page(self, query: UserQuery) -> Page[User]:
        """A page of accounts, newest first (``created_at``, then id, descending)."""


class SessionRepository(Protocol):
    @abstractmethod
    async def add(self, session: Session) -> None: ...

    @abstractmethod
    async def get(self, session_id: SessionId) -> Session | None: ...

    @abstractmethod
    async def get_by_token_hash(self, token_hash: str) -> Session | None:
        """The session that issued this refresh token at any time, current or rotated away."""

    @abstractmethod
    async def list_live(self, user_id: UserId, now: datetime) -> list[Session]:
        """The user's sessions that are live at ``now``, newest first."""

    @abstractmethod
    async def save(self, session: Session) -> None:
        """Persist one rotation: compare-and-set, the stored version must be ``session.version - 1``.

        Raises ``VersionMismatchError`` when another writer changed the session meanwhile
        (a concurrent refresh or a revocation), and stores nothing then.
        """

    @abstractmethod
    async def revoke(self, session: Session) -> bool:
        """Persist ``session.revoked_at`` whatever the stored version: revocation always wins.

        False when the session was revoked already: nothing changes, and its revocation
        event is not announced a second time (see ``application.shared.events``).
        """

    @abstractmethod
    async def find_principal(self, session_id: SessionId, now: datetime) -> Principal | None:
        """The active user behind a live session, or ``None`` (revoked, expired, user gone or inactive)."""


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A password check of one e-mail: reserved at ``at``; ``in_flight`` until it failed."""

    at: datetime
    in_flight: bool = False


class LoginAttemptRepository(Protocol):
    """Password checks per e-mail, for the lockout. An attempt is reserved before its check
    (in flight), stays as a failure when the check fails, and is cleared by a success."""

    @abstractmethod
    async def lock(self, email: str) -> bool:
        """Serialize attempts on ``email`` until this transaction ends: another unit of work
        that locks the same e-mail, in any process, waits until then. False (and the unit
        of work must end) when others held it for longer than a short wait."""

    @abstractmethod
    async def reserve(self, email: str, at: datetime) -> int:
        """Record an attempt in flight, before its password is checked; its number, which
        grows with every attempt."""

    @abstractmethod
    async def attempts_since(self, email: str, since: datetime) -> list[LoginAttempt]:
        """The e-mail's failed and in-flight attempts reserved at or after ``since``."""

    @abstractmethod
    async def fail(self, email: str, attempt: int) -> None:
        """The check of ``attempt`` failed: it stays, as a failure."""

    @abstractmethod
    async def clear_through(self, email: str, attempt: int) -> None:
        """Forget ``attempt`` and the failures of ``email`` before it: a successful login
        forgets those, never attempts still in flight nor those reserved after it."""

    @abstractmethod
    async def withdraw(self, email: str, attempt: int) -> None:
        """Forget one reserved attempt whose password was never checked."""


class LinkTokenRepository(Protocol):
    """The digests of mailed link tokens (reset, verification), never the tokens."""

    @abstractmethod
    async def add(self, token: LinkToken) -> bool:
        """Store ``token`` unless one with its digest is stored already (the job that minted
        it ran before): False then, and the stored one is kept as it is."""

    @abstractmethod
    async def find(self, token_hash: str, purpose: LinkPurpose) -> LinkToken | None:
        """The token with this digest and purpose, used or not, expired or not."""

    @abstractmethod
    async def consume(self, token_hash: str, purpose: LinkPurpose, now: datetime) -> UserId | None:
        """Mark the token used, if it is unused and unexpired at ``now``: compare-and-set,
        so of concurrent units of work consuming one token exactly one gets its user back;
        the others (and any later one) get ``None``. The mark is undone if the unit of work
        does not commit."""

    @abstractmethod
    async def consume_all(self, user_id: UserId, purpose: LinkPurpose, now: datetime) -> int:
        """Mark every unused token of the user for ``purpose`` used; how many there were."""


class PasswordResetRequestRepository(Protocol):
    """Reset requests as they came in, known address or not: an audit trail, and what the
    unit of work takes the ``password_reset.requested`` event from."""

    @abstractmethod
    async def add(self, request: PasswordResetRequest) -> None:
        """Store one request: the same statement whether or not an account has the address."""


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """The identity context's repositories, inside one transaction."""

    @property
    @abstractmethod
    def users(self) -> UserRepository: ...

    @property
    @abstractmethod
    def sessions(self) -> SessionRepository: ...

    @property
    @abstractmethod
    def login_attempts(self) -> LoginAttemptRepository: ...

    @property
    @abstractmethod
    def link_tokens(self) -> LinkTokenRepository: ...

    @property
    @abstractmethod
    def password_reset_requests(self) -> PasswordResetRequestRepository: ...

    @property
    @abstractmethod
    def audit_log(self) -> AuditLog: ...

    @property
    @abstractmethod
    def files(self) -> FileRepository:
        """The records of the account's uploads, whose bytes go with the account."""

    @abstractmethod
    async def require_live_session(self, actor: Actor, now: datetime) -> None:
        """Have the store confirm, before this unit of work gives out anything else, that
        ``actor``'s session is live at ``now`` and its user active and still of
        ``actor.role`` (as ``sessions.find_principal`` finds them); else
        ``UnauthenticatedError``. An adapter may check at once, or with the first statement
        of its next block (SQL on PostgreSQL: one round trip for the check and a read), so
        a caller must go through this unit of work before it acts on ``actor``."""


class PasswordHasher(Protocol):
    """Hashing costs a core and memory for tens of milliseconds: never call it inside a unit
    of work, which may hold a pooled connection or the database's write lock meanwhile.
    When too many checks are waiting already, both methods raise
    ``DependencyUnavailableError`` at once instead of queueing without bound."""

    @abstractmethod
    async def hash(self, password: str) -> str: ...

    @abstractmethod
    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches. With ``None`` it checks a dummy hash and returns
        False, taking as long as a real check, so unknown accounts cannot be told apart."""

    @abstractmethod
    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""


class TokenIssuer(Protocol):
    @abstractmethod
    def issue_access_token(self, claims: AccessClaims) -> IssuedToken: ...

    @abstractmethod
    def read_access_token(self, token: str) -> AccessClaims:
        """Verify signature, algorithm, issuer, audience and expiry.

        Raises ``UnauthenticatedError`` for anything else than a valid token."""

    @abstractmethod
    def new_refresh_token(self) -> str:
        """An opaque, unguessable token (at least 256 random bits)."""

    @abstractmethod
    def hash_refresh_token(self, token: str) -> str:
        """A one-way digest; only this is stored."""


class LinkTokens(Protocol):
    """Mints the secret of a mailed link, and the digest that alone is stored."""

    @abstractmethod
    def mint(self, purpose: LinkPurpose, event_id: UUID) -> str:
        """An unguessable, URL-safe token (at least 128 bits) for the link a job mails for
        ``event_id``. The same arguments give the same token, so a job that runs again
        after a crash mails the very link it may have mailed already."""

    @abstractmethod
    def digest(self, token: str) -> str:
        """A one-way digest of ``token``; only this is stored."""
