"""The petitioner's lookup code (查询码): how it is written, hashed and verified. Pure.

A code is 8 characters of an alphabet without the look-alikes 0/O and 1/I (32 symbols, 40 bits), read
out on the phone in two groups (`ABCD-EFGH`); what a person types is normalized (case, spaces,
dashes, O->0 and I->1 are refused rather than guessed). It is stored only as a verifier: an HMAC of
the code under the verifier key (`hmac-sha256$<mac>`), a key derived from the PII hash key that intake
(which makes codes) and supervision (which checks them) both hold, so a stolen verifier table without
the key gives an attacker nothing to guess against offline. Online guessing is bounded by the rate
limits of the public lookup (docs/progress.md). Verifiers of the first scheme, scrypt with a salt
per code (`scrypt$<n>$<r>$<p>$<salt>$<hash>`), still verify; none are made any more: a slow hash per
case cost intake about 7 ms of CPU per registration (decision 0038, issue 20).
"""

import base64
import hashlib
import hmac

from dispatch_common.crypto import PiiKeys, record_aad

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 8
SCHEME = "hmac-sha256"
SCRYPT = "scrypt"  # the first scheme's verifiers, still checked
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


def verifier_key(keys: PiiKeys) -> bytes:
    """The key verifiers are made and checked with: derived from the PII hash key, for this use only."""
    return hmac.new(keys.hash_key, b"lookup-code-verifier", hashlib.sha256).digest()


def _mac(key: bytes, code: str) -> bytes:
    return hmac.new(key, code.encode(), hashlib.sha256).digest()


def make_verifier(code: str, key: bytes) -> str:
    """The stored form of a code: `hmac-sha256$<mac>`."""
    return f"{SCHEME}${_b64(_mac(key, code))}"


# What an unknown case number, or a revoked code, is checked against: the same work as a real check,
# so that the answer's time tells nothing of whether the case exists.
_DECOY = "22222222"


def verify(typed: str, verifier: str | None, key: bytes) -> bool:
    """Whether `typed` is the code of `verifier`; a missing verifier costs the same and says no."""
    code = normalize(typed) or "--------"
    if verifier is None:
        hmac.compare_digest(_mac(key, code), _mac(key, _DECOY))
        return False
    scheme, *parts = verifier.split("$")
    if scheme == SCHEME:
        return hmac.compare_digest(_mac(key, code), _unb64(parts[0]))
    if scheme == SCRYPT:
        n, r, p, salt, digest = parts
        return hmac.compare_digest(_scrypt(code, _unb64(salt), int(n), int(r), int(p)), _unb64(digest))
    raise ValueError(f"unknown verifier scheme {scheme!r}")
