"""Checks of Chinese identity documents, phone numbers and e-mail addresses."""

import re
from datetime import date

_ID = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
# An address a mail server delivers to: a dot-atom local part, a domain of LDH labels with a dot
# (RFC 5321/5322 without quoted local parts, comments or address literals, which no one gives a clerk).
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_EMAIL_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def email_problem(value: str) -> str | None:
    """Why an e-mail address cannot be delivered to, or None if it can."""
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "must look like name@example.org"
    if len(value) > 254 or len(local) > 64:
        return "longer than an address may be (64 before the @, 254 in all)"
    if not _EMAIL_LOCAL.match(local):
        return "the part before the @ has characters an address may not have"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_EMAIL_LABEL.match(label) for label in labels):
        return "the domain after the @ is not a domain name (e.g. example.org)"
    return None


def id_number_problem(value: str) -> str | None:
    """Why an 18-digit resident ID number (GB 11643) is invalid, or None if it is valid."""
    if not _ID.match(value):
        return "must be 17 digits followed by a digit or X"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth date in the number is not a real date"
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != value[17]:
        return "check digit does not match"
    return None


def with_check_digit(first17: str) -> str:
    """Complete 17 digits with their check character (used by tests and fixtures)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + _CHECK[total % 11]
