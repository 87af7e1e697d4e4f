"""Errors raised by use-cases. Entry points map each class to a response in one table."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of every error a use-case raises on purpose."""


class NotFoundError(ApplicationError):
    """The resource does not exist, or is not the caller's to see."""

    def __init__(self, resource: str, key: object) -> None:
        super().__init__(f"{resource} {key} not found")
        self.resource = resource
        self.key = key


class AlreadyExistsError(ApplicationError):
    """A unique value (e-mail, slug, ...) is taken."""

    def __init__(self, resource: str, field: str) -> None:
        super().__init__(f"{resource} with this {field} already exists")
        self.resource = resource
        self.field = field


class UnauthenticatedError(ApplicationError):
    """No credentials, or credentials that prove nothing. Deliberately says nothing more."""

    def __init__(self) -> None:
        super().__init__("invalid credentials")


class ForbiddenError(ApplicationError):
    """The caller is known but may not do this."""


class RateLimitedError(ApplicationError):
    """Too many attempts; the caller may retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = max(1, retry_after)


class VersionRequiredError(ApplicationError):
    """An update arrived without the version it expects to replace."""

    def __init__(self, resource: str, current_version: int) -> None:
        super().__init__(f"say which version of the {resource} you change (If-Match or version)")
        self.current_version = current_version


class DependencyUnavailableError(ApplicationError):
    """A service the use-case needs (database, Redis, Telegram, the hashing pool) did not
    answer or is saturated; the caller may retry after ``retry_after`` seconds."""

    def __init__(self, dependency: str, retry_after: int = 5) -> None:
        super().__init__(f"{dependency} is unavailable")
        self.dependency = dependency
        self.retry_after = max(1, retry_after)


class RetryLaterError(DependencyUnavailableError):
    """The service itself said when to try again (Telegram's 429 ``retry_after``): a job
    that fails with it waits at least ``retry_after`` before its next attempt."""
