"""How a person is recognised across services without their numbers: one normalisation of a phone
number and an ID number, and the keyed hash (HMAC with the PII hash key, dispatch_common/crypto.py)
of each. Intake keys its petitioners with it, supervision the parties of its risk-ledger entries, so
a party's phone written `+86 139 1234 5678` is the petitioner's `13912345678` (docs/profile.md,
decision 0046). Pure.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from dispatch_common.crypto import PiiKeys, decrypt, encrypt, keyed_hash, record_aad

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def phone_key(phone: str) -> str:
    """A phone number as a person is recognised by: its digits (0471-1234567 = 04711234567), without
    the country code of a mobile number (+86 139 1234 5678 = 008613912345678 = 13912345678). A
    number intake accepts (docs/intake.md) has no country code: its key is its digits, as it always was."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and _MOBILE.match(digits[len(prefix) :]):
            return digits[len(prefix) :]
    return digits


def phone_hash(keys: PiiKeys, phone: str) -> str:
    """The keyed hash of a phone number's key."""
    return keyed_hash(keys, phone_key(phone))


def id_number_hash(keys: PiiKeys, id_number: str) -> str:
    """The keyed hash of a resident ID number (blanks dropped, a final x read as X)."""
    return keyed_hash(keys, id_number)


def person_keys(keys: PiiKeys, person: Mapping[str, Any]) -> list[str]:
    """The keyed hashes a person with these `id_number` and `phone` (either may be missing) is
    recognised by: the ID number's first."""
    out = []
    if person.get("id_number"):
        out.append(id_number_hash(keys, person["id_number"]))
    if person.get("phone"):
        out.append(phone_hash(keys, person["phone"]))
    return out


def ledger_keys_aad(entry_id: str) -> str:
    """The associated data of a risk-ledger entry's parties' keys on its events."""
    return record_aad("ledger", entry_id, "party_keys")


def seal_keys(keys: PiiKeys, found: list[str], *, aad: str) -> str | None:
    """Keyed hashes as an event carries them: one ciphertext of their JSON list, bound to its record,
    that only a holder of the PII keys opens (None for none)."""
    return encrypt(keys, json.dumps(sorted(set(found))), aad=aad) if found else None


def open_keys(keys: PiiKeys, token: str | None, *, aad: str) -> list[str]:
    """The keyed hashes an event carries sealed (UndecryptableError for a value of another record)."""
    return list(json.loads(decrypt(keys, token, aad=aad))) if token else []
