"""The email check's fast path must agree with email-validator everywhere."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from service.models import _email

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-."
DOMAINS = [
    "example.vn",
    "Example.VN",
    "gmail.com",
    "x.c",
    "a@b.com",
    "-x.com",
    "x..com",
    "x.com.",
    "localhost",
    "x.test",
    "x.invalid",
    "xn--bcher-kva.ch",
    "bücher.ch",
    "x.123",
    "123.com",
    "",
    "ex ample.com",
    "[192.0.2.1]",
    "a" * 64 + ".com",
    ("a" * 63 + ".") * 4 + "vn",
]


def _reference(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours(address: str) -> str | None:
    try:
        return _email(address)
    except ValueError:
        return None


@settings(max_examples=600, deadline=None)
@given(
    local=st.text(alphabet=ATEXT + 'é"() ,:;<>@[\\]', min_size=0, max_size=70),
    domain=st.sampled_from(DOMAINS) | st.text(alphabet="abc-.1é", max_size=20),
)
def test_agrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    if address != address.strip() or "\n" in address:
        return  # trimming and control characters are checked before, by clean()
    assert _ours(address) == _reference(address)


@pytest.mark.parametrize(
    "address",
    [
        "Duong@Example.VN",
        "a.b+c@x-y.example.com",
        "a..b@x.com",
        "a@x",
        "a@x.invalid",
        "nguyễn@example.vn",
        '"a b"@x.com',
    ],
)
def test_examples_agree(address: str) -> None:
    assert _ours(address) == _reference(address)
