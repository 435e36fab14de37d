"""Personal data protection: AES-256-GCM under a key ring, keyed hashes for lookup, masking.

A ciphertext is `v2.<key id>.<base64url(nonce + ciphertext + tag)>`. Its associated data names the
record and the field it belongs to (`case:<id>|petitioner.phone`, see `record_aad`), so a value
copied into another record or field does not decrypt. The key id says which key of the ring opens
it: new values are sealed with the ring's active key, and every key of the ring still opens what it
sealed, so a key is rotated by adding a new one, making it active, re-encrypting (`make rekey`) and
only then removing the old one. Values written before key ids (`base64(nonce + ciphertext + tag)`,
no associated data) are opened with the ring's legacy key. See docs/decisions/0018.

Where the ring comes from (`load_pii_keys`): `PII_ENC_KEYS` (JSON, `KeyRing.from_json`) and
`PII_HASH_KEY`; or `PII_ENC_KEY` and `PII_HASH_KEY`, the single key of before key rings, read as the
ring {k0, active and legacy}; or, outside production, the key file generated once in the keys folder.
"""

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE_NAME = "pii_keys.json"
FORMAT = "v2"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
SINGLE_KEY_ID = "k0"  # the id of PII_ENC_KEY and of a key file from before key rings
NONCE_BYTES = 12
CONTACT_FIELD = "petitioner.phone"
EMAIL_FIELD = "petitioner.email"
NAME_FIELD = "petitioner.name"
ADDRESS_FIELD = "petitioner.postal_address"


class UndecryptableError(ValueError):
    """A value that this ring cannot open: unknown key id, no legacy key, damaged, or moved."""


def _key_bytes(kid: str, encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"key {kid!r} is not base64") from None
    if len(key) != 32:
        raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
    return key


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys by id: the active one seals, every one opens what it sealed; `legacy` opens
    values written before key ids."""

    active: str
    keys: Mapping[str, bytes]
    legacy: str | None = None
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kid, key in self.keys.items():
            if not KEY_ID.match(kid):
                raise ValueError(f"key id {kid!r}: letters, digits, '_' and '-', at most 32")
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
        if self.active not in self.keys:
            raise ValueError(f"the active key {self.active!r} is not in the ring")
        if self.legacy is not None and self.legacy not in self.keys:
            raise ValueError(f"the legacy key {self.legacy!r} is not in the ring")
        object.__setattr__(self, "_ciphers", {kid: AESGCM(key) for kid, key in self.keys.items()})

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "KeyRing":
        """`{"active": "<id>", "keys": {"<id>": "<base64 of 32 bytes>", ...}, "legacy": "<id>"|null}`."""
        keys = raw.get("keys")
        if not isinstance(keys, dict) or not keys:
            raise ValueError('a key ring names its keys: {"active": ..., "keys": {"<id>": "<base64>"}}')
        active = raw.get("active")
        if active is None and len(keys) == 1:
            active = next(iter(keys))
        return cls(
            active=str(active),
            keys={str(kid): _key_bytes(str(kid), str(v)) for kid, v in keys.items()},
            legacy=raw.get("legacy"),
        )

    def to_json(self) -> dict[str, Any]:
        """The ring as `from_json` reads it."""
        return {
            "active": self.active,
            "keys": {kid: base64.b64encode(key).decode() for kid, key in self.keys.items()},
            "legacy": self.legacy,
        }

    def cipher(self, kid: str) -> AESGCM:
        """The cipher of one key of the ring."""
        try:
            return self._ciphers[kid]
        except KeyError:
            raise UndecryptableError(f"key {kid!r} is not in the ring") from None


@dataclass(frozen=True)
class PiiKeys:
    """The key ring that encrypts personal data and the key that hashes it for lookup."""

    ring: KeyRing
    hash_key: bytes


def record_aad(kind: str, record_id: str, name: str) -> str:
    """The associated data that binds a value to its record and field: `case:<id>|petitioner.phone`."""
    return f"{kind}:{record_id}|{name}"


def contact_aad(case_id: str) -> str:
    """The associated data of a petitioner's phone, which events carry as `contact_token`: intake
    seals it with this, notify opens it with this, both from the case id alone."""
    return record_aad("case", case_id, CONTACT_FIELD)


def email_aad(case_id: str) -> str:
    """The associated data of a petitioner's e-mail address, which events carry as `email_token`:
    sealed and opened like the phone (`contact_aad`), from the case id alone."""
    return record_aad("case", case_id, EMAIL_FIELD)


def name_aad(case_id: str) -> str:
    """The associated data of a petitioner's name, which events carry as `name_token`: notify opens it
    only to print a letter that names the petitioner in full (`contact_aad` alike)."""
    return record_aad("case", case_id, NAME_FIELD)


def address_aad(case_id: str) -> str:
    """The associated data of a petitioner's postal address (`address_token`), opened like the name."""
    return record_aad("case", case_id, ADDRESS_FIELD)


def encrypt(keys: PiiKeys, plaintext: str, *, aad: str) -> str:
    """Seal a value with the active key, bound to `aad` (its record and field)."""
    ring = keys.ring
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = ring.cipher(ring.active).encrypt(nonce, plaintext.encode(), aad.encode())
    return f"{FORMAT}.{ring.active}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def key_id(token: str) -> str | None:
    """The id of the key a value was sealed with; None for a value from before key ids."""
    if token.startswith(FORMAT + "."):
        return token.split(".", 2)[1]
    return None


def decrypt(keys: PiiKeys, token: str, *, aad: str) -> str:
    """Open a value sealed by `encrypt` for this `aad`, or one from before key ids (legacy key)."""
    ring = keys.ring
    try:
        if token.startswith(FORMAT + "."):
            _, kid, body = token.split(".", 2)
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            cipher, associated = ring.cipher(kid), aad.encode()
        else:
            if ring.legacy is None:
                raise UndecryptableError("a value without key id, and the ring has no legacy key")
            raw = base64.b64decode(token, validate=True)
            cipher, associated = ring.cipher(ring.legacy), None
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated).decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        if isinstance(exc, UndecryptableError):
            raise
        raise UndecryptableError(
            "the value does not open with its key for this record and field"
            if isinstance(exc, InvalidTag)
            else f"not a ciphertext: {type(exc).__name__}"
        ) from None


def is_current(keys: PiiKeys, token: str) -> bool:
    """True when a value is sealed with the active key (re-encryption leaves it)."""
    return key_id(token) == keys.ring.active


def reseal(keys: PiiKeys, token: str, *, aad: str) -> str:
    """The value sealed again with the active key (itself when it already is)."""
    return token if is_current(keys, token) else encrypt(keys, decrypt(keys, token, aad=aad), aad=aad)


def keyed_hash(keys: PiiKeys, value: str) -> str:
    """A keyed hash (HMAC-SHA256) of a normalized value, to find a person without storing plain text."""
    normalized = "".join(value.split()).upper()
    return hmac.new(keys.hash_key, normalized.encode(), hashlib.sha256).hexdigest()


# -- where the keys come from -------------------------------------------------------------------------


def load_pii_keys(*, environment: str, keys_dir: Path) -> PiiKeys:
    """The keys from PII_ENC_KEYS (or PII_ENC_KEY) and PII_HASH_KEY; outside production, from the key
    file in keys_dir, generated there once."""
    ring_json, single, hsh = (os.environ.get(n) for n in ("PII_ENC_KEYS", "PII_ENC_KEY", "PII_HASH_KEY"))
    if (ring_json or single) and hsh:
        if ring_json:
            ring = KeyRing.from_json(json.loads(ring_json))
        else:
            assert single is not None
            ring = KeyRing(SINGLE_KEY_ID, {SINGLE_KEY_ID: _key_bytes("PII_ENC_KEY", single)}, SINGLE_KEY_ID)
        return PiiKeys(ring, base64.b64decode(hsh))
    if environment == "production":
        raise RuntimeError("PII_ENC_KEYS (or PII_ENC_KEY) and PII_HASH_KEY must be set in production")
    path = keys_dir / KEY_FILE_NAME
    if not path.exists():
        ring = KeyRing("k1", {"k1": AESGCM.generate_key(bit_length=256)})
        write_key_file(path, PiiKeys(ring, secrets.token_bytes(32)), replace=False)
    return read_key_file(path)


def read_key_file(path: Path) -> PiiKeys:
    """The development key file: `{"active", "keys", "legacy", "hash_key"}`, or the form from before
    key rings, `{"encryption_key", "hash_key"}`, read as the ring {k0, active and legacy}."""
    payload = json.loads(path.read_text())
    hash_key = base64.b64decode(payload["hash_key"])
    if "keys" not in payload:
        key = _key_bytes(SINGLE_KEY_ID, payload["encryption_key"])
        return PiiKeys(KeyRing(SINGLE_KEY_ID, {SINGLE_KEY_ID: key}, SINGLE_KEY_ID), hash_key)
    return PiiKeys(KeyRing.from_json(payload), hash_key)


def write_key_file(path: Path, keys: PiiKeys, *, replace: bool = True) -> None:
    """Write the development key file atomically, readable by its owner only (`replace=False`: unless
    another process wrote it first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = keys.ring.to_json() | {"hash_key": base64.b64encode(keys.hash_key).decode()}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload))
    tmp.chmod(0o600)
    if replace:
        tmp.replace(path)
        return
    with contextlib.suppress(FileNotFoundError):
        tmp.replace(path) if not path.exists() else tmp.unlink()


# -- masks --------------------------------------------------------------------------------------------


def mask_phone(phone: str) -> str:
    """Show the first three and last four digits of a phone number."""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_email(address: str) -> str:
    """Keep an address's first character and its domain: z***@example.org ."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local and domain else "***"


def mask_address(address: str) -> str:
    """Keep a postal address's first six characters (province, city or county): 某某省某某市*** ."""
    return address[:6] + "***" if len(address) > 6 else "***"


def mask_id_number(number: str) -> str:
    """Show the first three and last four characters of an ID number."""
    return number[:3] + "*" * max(len(number) - 7, 0) + number[-4:] if len(number) > 7 else "*" * len(number)


def mask_name(name: str) -> str:
    """Keep a name's first character: 张** ."""
    return name[:1] + "*" * (len(name) - 1) if name else name
