"""Settings, tokens and personal-data protection."""

import time

import pytest
from fastapi import HTTPException
from pydantic import ValidationError

from devtools.keys import issue_token
from dispatch_common.auth import Principal, Role, TokenVerifier
from dispatch_common.crypto import decrypt, encrypt, keyed_hash, load_pii_keys, mask_name, mask_phone
from dispatch_common.settings import ServiceSettings
from services.intake.config import IntakeSettings


def test_production_refuses_development_token_settings():
    with pytest.raises(ValidationError, match="JWT_JWKS_URL"):
        ServiceSettings(environment="production")
    ok = ServiceSettings(
        environment="production",
        jwt_jwks_url="https://idp.example/jwks",
        jwt_issuer="county-idp",
        nats_user="routing",
        nats_password="not-a-real-one",
    )
    assert ok.jwt_jwks_url


def test_ports_come_from_the_service_variable_then_port(monkeypatch):
    assert IntakeSettings().port == 8001
    monkeypatch.setenv("PORT", "9100")
    assert IntakeSettings().port == 9100
    monkeypatch.setenv("INTAKE_PORT", "9200")
    assert IntakeSettings().port == 9200


async def test_a_development_token_is_verified_and_a_tampered_one_is_refused(tmp_path):
    settings = ServiceSettings(run_dir=tmp_path)
    token = issue_token(tmp_path / "keys", role="unit_handler", unit="U1", area="A1")
    principal = await TokenVerifier(settings).verify(token)
    assert (principal.role, principal.unit, principal.area) == (Role.UNIT_HANDLER, "U1", "A1")
    with pytest.raises(HTTPException) as err:
        await TokenVerifier(settings).verify(token[:-4] + "AAAA")
    assert err.value.status_code == 401
    other_audience = issue_token(tmp_path / "keys", role="admin", audience="someone-else")
    with pytest.raises(HTTPException):
        await TokenVerifier(settings).verify(other_audience)


def test_scope_county_wide_roles_see_all_units_see_their_own():
    assert Principal(subject="s", role=Role.DISPATCHER).may_see(unit_codes={"X"})
    handler = Principal(subject="s", role=Role.UNIT_HANDLER, unit="U1", area="T1")
    assert handler.may_see(unit_codes={"U1"})
    assert handler.may_see(unit_codes={"U9"}, area_codes={"T1"})
    assert not handler.may_see(unit_codes={"U9"}, area_codes={"T2"})
    assert not Principal(subject="s", role=Role.MEDIATOR).may_see(unit_codes={"U1"})


def test_personal_data_is_encrypted_hashed_and_masked(tmp_path, monkeypatch):
    for name in ("PII_ENC_KEY", "PII_ENC_KEYS", "PII_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
    keys = load_pii_keys(environment="development", keys_dir=tmp_path)
    assert load_pii_keys(environment="development", keys_dir=tmp_path) == keys  # generated once
    token = encrypt(keys, "13812345678", aad="case:1|petitioner.phone")
    assert "13812345678" not in token and decrypt(keys, token, aad="case:1|petitioner.phone") == "13812345678"
    assert encrypt(keys, "13812345678", aad="case:1|petitioner.phone") != token  # a fresh nonce each time
    assert keyed_hash(keys, "138 1234 5678") == keyed_hash(keys, "13812345678")
    assert mask_phone("13812345678") == "138****5678" and mask_name("张三丰") == "张**"
    with pytest.raises(RuntimeError):
        load_pii_keys(environment="production", keys_dir=tmp_path)


async def test_a_verified_token_is_remembered_only_until_it_expires(tmp_path, monkeypatch):
    settings = ServiceSettings(run_dir=tmp_path)
    verifier = TokenVerifier(settings)
    decoded: list[str] = []
    real_decode = verifier._decode

    async def counting(token: str):
        decoded.append(token)
        return await real_decode(token)

    monkeypatch.setattr(verifier, "_decode", counting)
    token = issue_token(tmp_path / "keys", role="dispatcher", ttl_seconds=60)
    first = await verifier.verify(token)
    assert (await verifier.verify(token)).subject == first.subject and len(decoded) == 1
    # a tampered copy is a different string: it is checked, never served from what was remembered
    with pytest.raises(HTTPException):
        await verifier.verify(token[:-4] + "AAAA")
    later = time.time() + 120
    monkeypatch.setattr("dispatch_common.auth.time.time", lambda: later)
    await verifier.verify(token)  # past its expiry the token is checked again (by PyJWT's own clock)
    assert decoded.count(token) == 2
