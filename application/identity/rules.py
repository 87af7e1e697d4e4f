"""The tunable rules of the identity context, filled from settings by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from application.shared.rate_limits import RateLimit
from domain.identity.lockout import LockoutPolicy
from domain.identity.session import SessionLifetime


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """Throttles set to ``None`` are off (``PORTSIDE_RATE_LIMITS=off``); the lockout never is."""

    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    session_lifetime: SessionLifetime = field(default_factory=SessionLifetime)
    login_throttle: RateLimit | None = None
    """Password checks allowed per client address."""
    register_throttle: RateLimit | None = None
    """Registrations allowed per client address."""
    register_global_throttle: RateLimit | None = None
    """Registrations allowed from all clients together, so many addresses cannot starve the hashing pool."""
    reset_throttle: RateLimit | None = None
    """Password-reset requests allowed per client address."""
    reset_email_throttle: RateLimit | None = None
    """Password-reset requests allowed per e-mail address, whether or not an account has it."""
    verification_resend_throttle: RateLimit | None = None
    """Requests for a new verification link allowed per account."""
    public_url: str = "http://127.0.0.1:8000"
    """Where the links in e-mails point: ``{public_url}/reset-password?token=...``."""
    reset_link_lifetime: timedelta = timedelta(minutes=30)
    verification_link_lifetime: timedelta = timedelta(hours=48)
