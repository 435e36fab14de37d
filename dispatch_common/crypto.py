"""Petitioner data protection: AES-GCM encryption at rest, keyed hashes for lookup, masking."""

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE_NAME = "pii_keys.json"


@dataclass(frozen=True)
class PiiKeys:
    """The key that encrypts personal data and the key that hashes it for lookup."""

    encryption_key: bytes
    hash_key: bytes


def load_pii_keys(*, environment: str, keys_dir: Path) -> PiiKeys:
    """Read PII keys from PII_ENC_KEY/PII_HASH_KEY; in development, generate them once into keys_dir."""
    enc, hsh = os.environ.get("PII_ENC_KEY"), os.environ.get("PII_HASH_KEY")
    if enc and hsh:
        return PiiKeys(base64.b64decode(enc), base64.b64decode(hsh))
    if environment == "production":
        raise RuntimeError("PII_ENC_KEY and PII_HASH_KEY must be set in production")
    path = keys_dir / KEY_FILE_NAME
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        payload = {
            "encryption_key": base64.b64encode(AESGCM.generate_key(bit_length=256)).decode(),
            "hash_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload))
        tmp.chmod(0o600)
        with contextlib.suppress(FileNotFoundError):
            tmp.replace(path) if not path.exists() else tmp.unlink()
    payload = json.loads(path.read_text())
    return PiiKeys(base64.b64decode(payload["encryption_key"]), base64.b64decode(payload["hash_key"]))


def encrypt(keys: PiiKeys, plaintext: str) -> str:
    """Encrypt a value with AES-GCM; the result carries its nonce and is safe to store."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(keys.encryption_key).encrypt(nonce, plaintext.encode(), None)
    return base64.b64encode(nonce + sealed).decode()


def decrypt(keys: PiiKeys, token: str) -> str:
    """Decrypt a value made by encrypt()."""
    raw = base64.b64decode(token)
    return AESGCM(keys.encryption_key).decrypt(raw[:12], raw[12:], None).decode()


def keyed_hash(keys: PiiKeys, value: str) -> str:
    """A keyed hash (HMAC-SHA256) of a normalized value, to find a person without storing plain text."""
    normalized = "".join(value.split()).upper()
    return hmac.new(keys.hash_key, normalized.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """Show the first three and last four digits of a phone number."""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_name(name: str) -> str:
    """Keep a name's first character: 张** ."""
    return name[:1] + "*" * (len(name) - 1) if name else name
