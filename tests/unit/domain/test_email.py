"""``Email`` and ``normalize_email``: one address, one spelling; malformed shapes refused."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.identity.email import Email, normalize_email
from domain.shared.errors import InvalidValueError
from entrypoints.testing.strategies import EMAIL_LABEL_CHARS as LABEL_CHARS
from entrypoints.testing.strategies import EMAIL_LOCAL_CHARS as LOCAL_CHARS
from entrypoints.testing.strategies import email_domains, email_local_parts, emails

PADDING = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=3)

# The shipped strategies (portside[testing]): valid addresses and their parts.
local_parts = email_local_parts()
domains = email_domains()
addresses = emails()


def recased(text: str, upper: list[bool]) -> str:
    return "".join(c.upper() if up else c.lower() for c, up in zip(text, upper + [False] * len(text), strict=False))


@given(raw=st.text())
def test_normalizing_an_already_normalized_text_changes_nothing(raw: str) -> None:
    once = normalize_email(raw)
    assert normalize_email(once) == once


@given(address=addresses)
def test_parsing_the_value_of_a_parsed_email_gives_the_same_email(address: str) -> None:
    email = Email.parse(address)
    assert Email.parse(email.value) == email
    assert str(email) == email.value


@given(address=addresses, upper=st.lists(st.booleans(), max_size=120), before=PADDING, after=PADDING)
def test_case_and_whitespace_variants_of_one_address_compare_equal(
    address: str, upper: list[bool], before: str, after: str
) -> None:
    variant = before + recased(address, upper) + after
    assert Email.parse(variant) == Email.parse(address.lower())
    assert Email.parse(variant).value == address.lower()


@given(address=addresses)
def test_parsed_value_is_trimmed_and_lower_case(address: str) -> None:
    value = Email.parse(f"  {address.upper()}\t").value
    assert value == value.strip() == value.lower()


@given(raw=st.text().filter(lambda s: "@" not in s))
def test_text_without_an_at_sign_is_refused_with_the_email_field(raw: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        Email.parse(raw)
    assert caught.value.field == "email"


@given(address=addresses, data=st.data(), space=st.sampled_from([" ", "\t", "\n", "\u00a0"]))
def test_address_with_inner_whitespace_is_refused(address: str, data: st.DataObject, space: str) -> None:
    cut = data.draw(st.integers(min_value=1, max_value=len(address) - 1))
    with pytest.raises(InvalidValueError) as caught:
        Email.parse(address[:cut] + space + address[cut:])
    assert caught.value.field == "email"


@given(local=local_parts, domain=domains, extra=st.text(alphabet=LOCAL_CHARS, min_size=1, max_size=10))
def test_address_with_two_at_signs_is_refused(local: str, domain: str, extra: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        Email.parse(f"{local}@{extra}@{domain}")
    assert caught.value.field == "email"


@given(local=local_parts, label=st.text(alphabet=LABEL_CHARS, min_size=1, max_size=30))
def test_address_whose_domain_has_no_dot_is_refused(local: str, label: str) -> None:
    with pytest.raises(InvalidValueError):
        Email.parse(f"{local}@{label}")


@given(domain=domains, extra=st.integers(min_value=1, max_value=300))
def test_address_longer_than_254_characters_is_refused(domain: str, extra: int) -> None:
    local = "a" * (254 - len(domain) - 1 + extra)
    with pytest.raises(InvalidValueError) as caught:
        Email.parse(f"{local}@{domain}")
    assert caught.value.field == "email"


@given(domain=domains)
def test_address_of_exactly_254_characters_is_accepted(domain: str) -> None:
    address = "a" * (254 - len(domain) - 1) + "@" + domain
    assert len(Email.parse(address).value) == 254


@given(address=addresses)
def test_constructor_refuses_a_value_that_is_not_normalized(address: str) -> None:
    assume(address != address.lower())
    with pytest.raises(InvalidValueError) as caught:
        Email(address)
    assert caught.value.field == "email"


@pytest.mark.parametrize("raw", ["", "   ", "@example.com", "ada@", "ada@.", "ada@example.", "ada@@example.com"])
def test_degenerate_shapes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidValueError):
        Email.parse(raw)
