"""Hypothesis strategies for what portside accepts, and for commands built from it.

Every strategy yields input the domain accepts (``Email.parse``, ``check_password``,
``Title.parse``, ...), so a property can expect success; refusals are the domain tests' job.
Needs hypothesis: ``pip install portside[testing]``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from application.identity.register_user import RegisterUserCommand
from application.shared.actor import Actor
from application.todos.create_todo import CreateTodoCommand
from domain.identity.password_policy import MIN_LENGTH, check_password, common_passwords
from domain.identity.user import DISPLAY_NAME_MAX
from domain.shared.errors import InvalidValueError
from domain.todos.todo import DESCRIPTION_MAX, TITLE_MAX

__all__ = [
    "EMAIL_LABEL_CHARS",
    "EMAIL_LOCAL_CHARS",
    "create_todo_commands",
    "descriptions",
    "display_names",
    "due_dates",
    "email_domains",
    "email_local_parts",
    "email_spellings",
    "emails",
    "one_line_text",
    "passwords",
    "register_commands",
    "titles",
]

EMAIL_LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"
EMAIL_LABEL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SPACES = " \t\n\r\u00a0\u2003"


def email_local_parts() -> SearchStrategy[str]:
    return st.text(alphabet=EMAIL_LOCAL_CHARS, min_size=1, max_size=40)


def email_domains() -> SearchStrategy[str]:
    """A label and a top-level domain of letters: ``x-1.Org``."""
    return st.builds(
        "{}.{}".format,
        st.text(alphabet=EMAIL_LABEL_CHARS, min_size=1, max_size=30),
        st.text(alphabet=_LETTERS, min_size=2, max_size=10),
    )


def emails() -> SearchStrategy[str]:
    """Addresses in mixed case, without padding; ``Email.parse`` lower-cases them."""
    return st.builds("{}@{}".format, email_local_parts(), email_domains())


def email_spellings(address: str) -> SearchStrategy[str]:
    """``address`` re-cased and padded with whitespace: every one is the same ``Email``."""
    recased = st.lists(st.booleans(), min_size=len(address), max_size=len(address)).map(
        lambda upper: "".join(c.upper() if up else c.lower() for c, up in zip(address, upper, strict=True))
    )
    padding = st.text(alphabet=_SPACES, max_size=3)
    return st.builds("{}{}{}".format, padding, recased, padding)


def one_line_text(*, min_size: int = 0, max_size: int) -> SearchStrategy[str]:
    """Any script, no control characters (no C0, DEL or C1) and no surrogates."""
    return st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=min_size, max_size=max_size)


def passwords() -> SearchStrategy[str]:
    """Passwords the policy accepts from any e-mail that is not the password itself
    (``register_commands`` rules that out too): 8..64 characters, not a common one."""
    return one_line_text(min_size=MIN_LENGTH, max_size=64).filter(
        lambda password: password.strip().lower() not in common_passwords()
    )


def display_names() -> SearchStrategy[str]:
    return one_line_text(min_size=1, max_size=DISPLAY_NAME_MAX).filter(str.strip)


def titles(alphabet: str | None = None, *, max_size: int = TITLE_MAX) -> SearchStrategy[str]:
    """Todo titles, not blank once trimmed; a small ``alphabet`` makes titles collide often."""
    text = (
        one_line_text(min_size=1, max_size=max_size)
        if alphabet is None
        else st.text(alphabet, min_size=1, max_size=max_size)
    )
    return text.filter(str.strip)


def descriptions(*, max_size: int = DESCRIPTION_MAX) -> SearchStrategy[str]:
    """Free text: line breaks and tabs included, NUL never."""
    return st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=max_size)


def due_dates() -> SearchStrategy[datetime]:
    """Instants with a UTC offset (the use-cases store them in UTC), this century."""
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=offsets)


def _policy_accepts(command: RegisterUserCommand) -> bool:
    try:
        check_password(command.password, email=command.email)
    except InvalidValueError:
        return False
    return True


def register_commands() -> SearchStrategy[RegisterUserCommand]:
    """Registrations that succeed on an unused e-mail, from code in this process (no client)."""
    return st.builds(
        RegisterUserCommand, email=emails(), password=passwords(), display_name=st.none() | display_names()
    ).filter(_policy_accepts)


def create_todo_commands(actor: Actor) -> SearchStrategy[CreateTodoCommand]:
    return st.builds(
        CreateTodoCommand,
        actor=st.just(actor),
        title=titles(),
        description=descriptions(max_size=200),
        due_at=st.none() | due_dates(),
    )
