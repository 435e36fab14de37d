"""Ciphertexts carry their key id and are bound to their record and field; keys rotate through a ring."""

import base64
import json
import os
import secrets

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dispatch_common.crypto import (
    KeyRing,
    PiiKeys,
    UndecryptableError,
    contact_aad,
    decrypt,
    encrypt,
    is_current,
    key_id,
    load_pii_keys,
    read_key_file,
    reseal,
)

HASH_KEY = secrets.token_bytes(32)
AAD = "case:c-1|petitioner.phone"


def ring(active: str, *kids: str, legacy: str | None = None, keys: dict[str, bytes] | None = None) -> PiiKeys:
    keys = keys if keys is not None else {}
    material = {kid: keys.setdefault(kid, secrets.token_bytes(32)) for kid in {active, *kids}}
    return PiiKeys(KeyRing(active, material, legacy), HASH_KEY)


def legacy_token(key: bytes, plaintext: str) -> str:
    """A value as crypto.encrypt wrote it before key ids: base64(nonce + ciphertext), no associated data."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), None)).decode()


def test_a_ciphertext_names_its_key_and_opens_only_for_its_record_and_field():
    keys = ring("2026a")
    token = encrypt(keys, "13812345678", aad=AAD)
    assert token.startswith("v2.2026a.") and key_id(token) == "2026a"
    assert decrypt(keys, token, aad=AAD) == "13812345678"
    for moved in ("case:c-2|petitioner.phone", "case:c-1|representatives.phone", "case:c-1|text"):
        with pytest.raises(UndecryptableError, match="does not open"):
            decrypt(keys, token, aad=moved)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(UndecryptableError):
        decrypt(keys, tampered, aad=AAD)


def test_old_keys_keep_opening_what_they_sealed_and_new_values_use_the_active_key():
    material: dict[str, bytes] = {}
    before = ring("a", keys=material)
    old = encrypt(before, "张三", aad=AAD)
    after = ring("b", "a", keys=material)
    assert decrypt(after, old, aad=AAD) == "张三"
    assert key_id(encrypt(after, "李四", aad=AAD)) == "b"
    assert not is_current(after, old)
    again = reseal(after, old, aad=AAD)
    assert key_id(again) == "b" and decrypt(ring("b", keys={"b": material["b"]}), again, aad=AAD) == "张三"
    assert reseal(after, again, aad=AAD) is again  # already under the active key: left as it is
    with pytest.raises(UndecryptableError, match="not in the ring"):
        decrypt(ring("b", keys={"b": material["b"]}), old, aad=AAD)  # key a removed


def test_values_from_before_key_ids_open_with_the_legacy_key_only():
    material: dict[str, bytes] = {}
    keys = ring("k1", "k0", legacy="k0", keys=material)
    old = legacy_token(material["k0"], "13700001111")
    assert key_id(old) is None
    assert decrypt(keys, old, aad=contact_aad("any case")) == "13700001111"  # no associated data then
    assert key_id(reseal(keys, old, aad=AAD)) == "k1"
    with pytest.raises(UndecryptableError, match="no legacy key"):
        decrypt(ring("k1", keys={"k1": material["k1"]}), old, aad=AAD)


def test_a_ring_is_read_from_the_environment_and_checked(tmp_path, monkeypatch):
    a, b, h = (base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(3))
    monkeypatch.setenv("PII_ENC_KEYS", json.dumps({"active": "b", "keys": {"a": a, "b": b}, "legacy": "a"}))
    monkeypatch.setenv("PII_HASH_KEY", h)
    keys = load_pii_keys(environment="production", keys_dir=tmp_path)
    assert (keys.ring.active, sorted(keys.ring.keys), keys.ring.legacy) == ("b", ["a", "b"], "a")
    assert not (tmp_path / "pii_keys.json").exists()
    monkeypatch.setenv("PII_ENC_KEYS", json.dumps({"active": "c", "keys": {"a": a}}))
    with pytest.raises(ValueError, match="active key 'c'"):
        load_pii_keys(environment="production", keys_dir=tmp_path)
    monkeypatch.setenv("PII_ENC_KEYS", json.dumps({"keys": {"a.b": a}}))
    with pytest.raises(ValueError, match="key id"):
        load_pii_keys(environment="production", keys_dir=tmp_path)
    monkeypatch.setenv("PII_ENC_KEYS", json.dumps({"keys": {"a": base64.b64encode(b"short").decode()}}))
    with pytest.raises(ValueError, match="32 bytes"):
        load_pii_keys(environment="production", keys_dir=tmp_path)


def test_the_single_key_of_before_rings_is_the_legacy_key_k0(tmp_path, monkeypatch):
    key = secrets.token_bytes(32)
    old = legacy_token(key, "赵六")
    monkeypatch.delenv("PII_ENC_KEYS", raising=False)
    monkeypatch.setenv("PII_ENC_KEY", base64.b64encode(key).decode())
    monkeypatch.setenv("PII_HASH_KEY", base64.b64encode(HASH_KEY).decode())
    keys = load_pii_keys(environment="production", keys_dir=tmp_path)
    assert decrypt(keys, old, aad=AAD) == "赵六" and key_id(encrypt(keys, "x", aad=AAD)) == "k0"

    # a development key file written before key rings reads the same way
    (tmp_path / "pii_keys.json").write_text(
        json.dumps({"encryption_key": base64.b64encode(key).decode(), "hash_key": "AAAA"})
    )
    from_file = read_key_file(tmp_path / "pii_keys.json")
    assert from_file.ring.legacy == "k0" and decrypt(from_file, old, aad=AAD) == "赵六"


def test_the_development_key_file_is_generated_once_with_a_key_id(tmp_path, monkeypatch):
    for name in ("PII_ENC_KEY", "PII_ENC_KEYS", "PII_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
    keys = load_pii_keys(environment="development", keys_dir=tmp_path)
    stored = json.loads((tmp_path / "pii_keys.json").read_text())
    assert stored["active"] == keys.ring.active and list(stored["keys"]) == [keys.ring.active]
    assert (tmp_path / "pii_keys.json").stat().st_mode & 0o077 == 0
    assert load_pii_keys(environment="development", keys_dir=tmp_path) == keys
    with pytest.raises(RuntimeError, match="PII_ENC_KEYS"):
        load_pii_keys(environment="production", keys_dir=tmp_path)
