"""The identity context: its use-cases, and its unit of work on either storage."""

from __future__ import annotations

from datetime import timedelta

from dishka import Provider, Scope, decorate, provide, provide_all

from adapters.memory.identity import InMemoryIdentityUnitOfWork
from adapters.prometheus.audit import MeteredAudit
from adapters.security.link_tokens import HmacLinkTokens
from adapters.sql.identity import SqlIdentityUnitOfWork
from application.identity.account_cleanup import AccountCleanup
from application.identity.authenticate_access_token import AuthenticateAccessToken
from application.identity.change_password import ChangePassword
from application.identity.confirm_password_reset import ConfirmPasswordReset
from application.identity.create_admin import CreateAdmin
from application.identity.delete_user import DeleteUser
from application.identity.get_current_user import GetCurrentUser
from application.identity.get_user import GetUser
from application.identity.links import LinkIssuer
from application.identity.list_audit import ListAudit, ListOwnAudit
from application.identity.list_sessions import ListSessions
from application.identity.list_users import ListUsers
from application.identity.log_in import LogIn
from application.identity.log_out import LogOut
from application.identity.login_guard import LoginGuard
from application.identity.password_reset_email import SendPasswordResetEmail
from application.identity.policy import AuditPolicy, UserPolicy
from application.identity.ports import IdentityUnitOfWork, LinkTokens
from application.identity.refresh_session import RefreshSession
from application.identity.register_user import RegisterUser
from application.identity.request_password_reset import RequestPasswordReset
from application.identity.resend_verification import ResendVerification
from application.identity.revoke_session import RevokeSession
from application.identity.rules import IdentityRules
from application.identity.session_tokens import SessionTokens
from application.identity.throttles import IdentityThrottles
from application.identity.update_profile import UpdateProfile
from application.identity.update_user import UpdateUser
from application.identity.verification_email import SendVerificationEmail
from application.identity.verify_email import VerifyEmail
from application.identity.welcome_email import SendWelcomeEmail
from application.jobs.handle_event import EventHandlers
from application.shared.audit import Audit
from application.shared.rate_limits import RateLimit
from domain.identity.lockout import LockoutPolicy
from domain.identity.session import SessionLifetime
from entrypoints.providers.storage import Storage, unit_of_work_provider
from entrypoints.settings import Settings

__all__ = ["identity_providers"]

# Each of these requests makes the server send mail: a client, a mailbox and an account can
# ask only so often (PORTSIDE_RATE_LIMITS=off lifts them with the other throttles).
RESET_REQUESTS_PER_CLIENT_MINUTE = 10
RESET_REQUESTS_PER_EMAIL = 3
"""Per e-mail address, known or not, per 15 minutes."""
VERIFICATION_RESENDS_PER_ACCOUNT = 3
"""Per account, per 15 minutes."""


class IdentityProvider(Provider):
    session_tokens = provide(SessionTokens, scope=Scope.APP)
    identity_throttles = provide(IdentityThrottles, scope=Scope.APP)
    login_guard = provide(LoginGuard, scope=Scope.APP)
    user_policy = provide(UserPolicy, scope=Scope.APP)
    audit_policy = provide(AuditPolicy, scope=Scope.APP)
    account_cleanup = provide(AccountCleanup, scope=Scope.APP)
    audit = provide(MeteredAudit, provides=Audit, scope=Scope.REQUEST)
    use_cases = provide_all(
        RegisterUser,
        LogIn,
        RefreshSession,
        LogOut,
        GetCurrentUser,
        ChangePassword,
        ListSessions,
        RevokeSession,
        AuthenticateAccessToken,
        CreateAdmin,
        RequestPasswordReset,
        ConfirmPasswordReset,
        VerifyEmail,
        ResendVerification,
        LinkIssuer,
        ListUsers,
        GetUser,
        UpdateProfile,
        UpdateUser,
        DeleteUser,
        ListAudit,
        ListOwnAudit,
        scope=Scope.REQUEST,
    )

    # Handlers that write (a link's digest) take a unit of work: one job, one REQUEST scope.
    welcome_email = provide(SendWelcomeEmail, scope=Scope.REQUEST)
    password_reset_email = provide(SendPasswordResetEmail, scope=Scope.REQUEST)
    verification_email = provide(SendVerificationEmail, scope=Scope.REQUEST)

    @decorate
    def handlers(
        self,
        handlers: EventHandlers,
        welcome: SendWelcomeEmail,
        reset: SendPasswordResetEmail,
        verification: SendVerificationEmail,
    ) -> EventHandlers:
        """The identity context's handlers, added to those the providers before it gave."""
        return EventHandlers((*handlers.all, welcome, reset, verification))

    @provide(scope=Scope.APP)
    def link_tokens(self, s: Settings) -> LinkTokens:
        return HmacLinkTokens(s.jwt_secret)

    @provide(scope=Scope.APP)
    def rules(self, s: Settings) -> IdentityRules:
        def per_minute(limit: int) -> RateLimit | None:
            return RateLimit(limit, timedelta(minutes=1)) if s.rate_limits else None

        def per_quarter_hour(limit: int) -> RateLimit | None:
            return RateLimit(limit, timedelta(minutes=15)) if s.rate_limits else None

        return IdentityRules(
            lockout=LockoutPolicy(
                threshold=s.lockout_threshold,
                window=timedelta(seconds=s.lockout_window),
                duration=timedelta(seconds=s.lockout_duration),
            ),
            session_lifetime=SessionLifetime(
                idle=timedelta(seconds=s.refresh_idle_ttl), absolute=timedelta(seconds=s.refresh_absolute_ttl)
            ),
            login_throttle=per_minute(s.login_throttle),
            register_throttle=per_minute(s.register_throttle),
            register_global_throttle=per_minute(s.register_global_throttle),
            reset_throttle=per_minute(RESET_REQUESTS_PER_CLIENT_MINUTE),
            reset_email_throttle=per_quarter_hour(RESET_REQUESTS_PER_EMAIL),
            verification_resend_throttle=per_quarter_hour(VERIFICATION_RESENDS_PER_ACCOUNT),
            public_url=s.public_url,
        )


def identity_providers(storage: Storage) -> tuple[Provider, ...]:
    return IdentityProvider(), unit_of_work_provider(
        storage, IdentityUnitOfWork, sql=SqlIdentityUnitOfWork, memory=InMemoryIdentityUnitOfWork
    )
