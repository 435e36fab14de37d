"""The petitioner's lookup code (查询码): how it is written, hashed and verified. Pure.

A code is 8 characters of an alphabet without the look-alikes 0/O and 1/I (32 symbols, 40 bits), read
out on the phone in two groups (`ABCD-EFGH`); what a person types is normalized (case, spaces,
dashes, O->0 and I->1 are refused rather than guessed). It is stored only as a verifier: scrypt with a
salt of its own per code and the cost parameters written into the verifier
(`scrypt$<n>$<r>$<p>$<salt>$<hash>`), so that the service that checks it needs no key and a stolen
verifier costs an attacker a slow hash per guess. Online guessing is bounded by the rate limits of the
public lookup (docs/progress.md), not by the hash.
"""

import base64
import hashlib
import hmac
import os

from dispatch_common.crypto import record_aad

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 8
SCHEME = "scrypt"
DEFAULT_COST = (2**11, 8, 1)  # n, r, p: about 2 MB and a few milliseconds per hash
_ALLOWED = frozenset(ALPHABET)
FIELD = "lookup_code"


def lookup_aad(case_id: str) -> str:
    """The associated data of a case's sealed code (`case:<id>|lookup_code`): intake seals it with this
    for notify, which opens it with this when it sends the acceptance notice."""
    return record_aad("case", case_id, FIELD)


def from_bytes(raw: bytes) -> str:
    """A code from at least 5 bytes (40 bits, 5 bits per character)."""
    number = int.from_bytes(raw[:5], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def normalize(typed: str) -> str | None:
    """The code a person typed, upper-cased without spaces and dashes; None when it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper()
    return code if len(code) == LENGTH and set(code) <= _ALLOWED else None


def grouped(code: str) -> str:
    """The code as it is printed and read out: `ABCD-EFGH`."""
    return f"{code[:4]}-{code[4:]}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(code.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=256 * 1024 * 1024)


def make_verifier(code: str, *, cost: tuple[int, int, int] = DEFAULT_COST, salt: bytes | None = None) -> str:
    """The stored form of a code: `scrypt$n$r$p$salt$hash`, with a new random salt."""
    n, r, p = cost
    salt = salt if salt is not None else os.urandom(16)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(_scrypt(code, salt, n, r, p))}"


# What an unknown case number, or a revoked code, is checked against: the same work as a real check,
# so that the answer's timing tells nothing of whether the case exists.
DECOY_VERIFIER = make_verifier("22222222", salt=b"\x00" * 16)


def verify(typed: str, verifier: str | None) -> bool:
    """Whether `typed` is the code of `verifier`; a missing verifier costs the same and says no."""
    stored = verifier or DECOY_VERIFIER
    code = normalize(typed) or "--------"
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != SCHEME:
        raise ValueError(f"unknown verifier scheme {scheme!r}")
    computed = _scrypt(code, _unb64(salt), int(n), int(r), int(p))
    return hmac.compare_digest(computed, _unb64(digest)) and verifier is not None
