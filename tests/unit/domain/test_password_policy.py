"""``check_password``: length 8..128, not a shipped common password, not the e-mail."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from domain.identity.password_policy import MAX_LENGTH, MIN_LENGTH, check_password, common_passwords
from domain.shared.errors import InvalidValueError

EMAIL = "someone@example.com"
COMMON = sorted(common_passwords())
COMMON_LONG_ENOUGH = [p for p in COMMON if MIN_LENGTH <= len(p) <= MAX_LENGTH]
# Any code point but surrogates (which no decoded request body can hold).
characters = st.characters(exclude_categories=["Cs"])
ADDRESS_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789._+-"


def is_usable(password: str, email: str = EMAIL) -> bool:
    folded = password.strip().lower()
    return folded not in common_passwords() and folded not in (email, email.partition("@")[0])


def recased(text: str, upper: list[bool]) -> str:
    flags = upper + [False] * len(text)
    return "".join(c.upper() if flags[i] else c.lower() for i, c in enumerate(text))


def refusal(password: str, *, email: str = EMAIL, field: str = "password") -> InvalidValueError:
    with pytest.raises(InvalidValueError) as caught:
        check_password(password, email=email, field=field)
    assert caught.value.field == field
    return caught.value


def test_shipped_list_holds_at_least_ten_thousand_lower_case_entries() -> None:
    assert len(COMMON) >= 10_000
    assert all(p == p.strip().lower() for p in COMMON)
    assert {"password", "123456789", "qwertyuiop"} <= common_passwords()


@given(password=st.text(alphabet=characters, min_size=MIN_LENGTH, max_size=MAX_LENGTH))
@example(password="Zq" * 4)
@example(password="Zq" * 64)
@example(password="ñ" * 7 + "字")
def test_uncommon_password_of_8_to_128_code_points_is_accepted(password: str) -> None:
    assume(is_usable(password))
    check_password(password, email=EMAIL)


@given(password=st.text(alphabet=characters, max_size=MIN_LENGTH - 1))
@example(password="Zq7#Zq7")
def test_password_shorter_than_8_is_refused(password: str) -> None:
    assert "at least" in refusal(password).message


@given(password=st.text(alphabet=characters, min_size=MAX_LENGTH + 1, max_size=400))
@example(password="Zq" * 64 + "Z")
def test_password_longer_than_128_is_refused(password: str) -> None:
    assert "at most" in refusal(password).message


@given(common=st.sampled_from(COMMON), upper=st.lists(st.booleans(), max_size=MAX_LENGTH))
def test_every_common_password_is_refused_in_any_case(common: str, upper: list[bool]) -> None:
    refusal(recased(common, upper))


@given(common=st.sampled_from(COMMON_LONG_ENOUGH), upper=st.lists(st.booleans(), max_size=MAX_LENGTH))
def test_common_password_of_allowed_length_is_refused_as_too_common(common: str, upper: list[bool]) -> None:
    assert "common" in refusal(recased(common, upper)).message


@given(
    local=st.text(alphabet=ADDRESS_CHARS, min_size=MIN_LENGTH, max_size=60),
    upper=st.lists(st.booleans(), max_size=MAX_LENGTH),
)
def test_password_equal_to_the_email_in_any_case_is_refused(local: str, upper: list[bool]) -> None:
    email = f"{local}@example.org"
    assert "e-mail" in refusal(recased(email, upper), email=email).message


@given(
    local=st.text(alphabet=ADDRESS_CHARS, min_size=MIN_LENGTH, max_size=MAX_LENGTH),
    upper=st.lists(st.booleans(), max_size=MAX_LENGTH),
)
def test_password_equal_to_the_local_part_in_any_case_is_refused(local: str, upper: list[bool]) -> None:
    assume(local not in common_passwords())
    email = f"{local}@example.org"
    assert "e-mail" in refusal(recased(local, upper), email=email).message


@given(local=st.text(alphabet=ADDRESS_CHARS, min_size=MIN_LENGTH, max_size=60))
def test_email_given_in_another_spelling_is_still_compared_normalized(local: str) -> None:
    email = f"{local}@example.org"
    refusal(email, email=f"  {email.upper()} ")


@given(password=st.text(alphabet=characters, max_size=MIN_LENGTH - 1))
def test_refusal_names_the_field_it_was_given(password: str) -> None:
    refusal(password, field="new_password")


def test_password_merely_containing_the_local_part_is_accepted() -> None:
    check_password("ada.lovelace-was-here", email="ada.lovelace@example.com")
