"""The generated NATS identities and configuration, the systems file, and the NATS settings."""

import json
import stat
from pathlib import Path

import pytest
from faststream.nats.security import NatsNKey, NatsUserPassword
from pydantic import ValidationError

from devtools.nats_auth import ensure_seed, identities, main, seed_path, server_config
from dispatch_common import nats_connect
from dispatch_common.settings import ServiceSettings
from dispatch_common.streams import covers
from dispatch_common.systems import SystemsFileError, load_systems

SYSTEMS = load_systems()
PRODUCTION = {"environment": "production", "jwt_jwks_url": "https://idp.invalid/jwks", "jwt_issuer": "idp"}


def test_a_seed_is_made_once_readable_by_its_owner_alone(tmp_path: Path) -> None:
    public = ensure_seed(tmp_path, "intake")
    path = seed_path(tmp_path, "intake")
    assert public.startswith("U") and path.read_text().startswith("SU")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert ensure_seed(tmp_path, "intake") == public  # created once: a restart keeps every identity


def test_the_server_configuration_names_each_user_by_public_key_only(tmp_path: Path) -> None:
    text = server_config(keys_dir=tmp_path / "keys", systems=SYSTEMS, port=4999, store_dir=tmp_path / "js")
    users = [json.loads(line) for line in text.splitlines() if line.strip().startswith('{"nkey"')]
    names = [i.user for i in identities(SYSTEMS)]
    assert len(users) == len(names) == 5 + len(SYSTEMS) + 1
    assert [u["nkey"] for u in users] == [ensure_seed(tmp_path / "keys", n) for n in names]
    for name in names:  # no seed in the configuration
        assert seed_path(tmp_path / "keys", name).read_text().strip() not in text
    assert 'listen: "127.0.0.1:4999"' in text


def test_the_production_block_lists_every_identity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "auth.conf"
    assert main(["--keys-dir", str(tmp_path / "keys"), "--out", str(out)]) == 0
    assert out.read_text().count('{"nkey"') == len(identities(SYSTEMS))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "hotline-12345" in capsys.readouterr().out


def _systems_file(tmp_path: Path, systems: list[dict[str, str]]) -> Path:
    path = tmp_path / "systems.json"
    path.write_text(json.dumps({"systems": systems}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("systems", "why"),
    [
        ([{"id": "a", "name": "A", "source": "/a"}, {"id": "a", "name": "B", "source": "/b"}], "same id"),
        ([{"id": "a", "name": "A", "source": "/a"}, {"id": "b", "name": "B", "source": "/a"}], "same source"),
        ([{"id": "ops", "name": "O", "source": "/o"}], "taken by the platform"),
        ([{"id": "Grid_App", "name": "G", "source": "/g"}], "string_pattern_mismatch"),
        ([{"id": "a.b", "name": "G", "source": "/g"}], "string_pattern_mismatch"),
    ],
)
def test_a_systems_file_that_would_confuse_identities_is_refused(tmp_path: Path, systems, why) -> None:
    with pytest.raises(SystemsFileError, match=why):
        load_systems(_systems_file(tmp_path, systems))


def test_the_shipped_systems_file_loads() -> None:
    assert {s.id for s in SYSTEMS} >= {"hotline-12345", "grid-app"}


@pytest.mark.parametrize(
    ("value", "servers"),
    [
        ("nats://a:4222", ["nats://a:4222"]),
        ("nats://a:4222, nats://b:4222,nats://c:4222", ["nats://a:4222", "nats://b:4222", "nats://c:4222"]),
        ('["tls://a:4222", "tls://b:4222"]', ["tls://a:4222", "tls://b:4222"]),
    ],
)
def test_nats_url_names_one_server_or_a_cluster(value: str, servers: list[str]) -> None:
    assert ServiceSettings(nats_url=value).nats_servers == servers


def test_production_refuses_to_connect_without_an_identity(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="NATS identity is required"):
        ServiceSettings(**PRODUCTION)
    seed = tmp_path / "seed.nk"
    assert ServiceSettings(**PRODUCTION, nats_nkey_seed_file=seed).nats_authenticated
    with pytest.raises(ValidationError, match="NATS_USER needs NATS_PASSWORD"):
        ServiceSettings(nats_user="intake")
    with pytest.raises(ValidationError, match="go together"):
        ServiceSettings(nats_tls_cert_file=tmp_path / "c.pem")


def test_the_service_presents_the_identity_its_settings_give(tmp_path: Path) -> None:
    ensure_seed(tmp_path, "routing")
    nkey = nats_connect.security(ServiceSettings(nats_nkey_seed_file=seed_path(tmp_path, "routing")))
    assert isinstance(nkey, NatsNKey)
    password = nats_connect.security(ServiceSettings(nats_user="routing", nats_password="s3cret"))
    assert isinstance(password, NatsUserPassword) and password.password == "s3cret"
    assert "s3cret" not in repr(ServiceSettings(nats_user="routing", nats_password="s3cret"))
    assert nats_connect.security(ServiceSettings()) is None
    assert nats_connect.service_inbox(ServiceSettings(service_name="notify")) == "_INBOX_notify"


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("dlq.>", "dlq.>", True),
        ("dlq.>", "dlq.intake-x", True),
        ("dlq.*", "dlq.>", False),
        ("dispatch.case.routed", "dispatch.>", False),
        ("ingress.a.>", "ingress.b.>", False),
        (">", "outcome.a.>", True),
    ],
)
def test_a_stream_that_takes_in_a_subject_already_is_not_extended(
    pattern: str, subject: str, expected: bool
) -> None:
    assert covers(pattern, subject) is expected
