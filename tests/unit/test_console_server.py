"""The console's own server: its configuration points the browser at the services, development
sign-in signs a token the services accept, and production has no such door."""

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from console.server import create_console
from console.settings import ConsoleSettings
from dispatch_common.auth import TokenVerifier
from dispatch_common.settings import ServiceSettings


def _client(tmp_path, **values: object) -> TestClient:  # type: ignore[no-untyped-def]
    settings = ConsoleSettings(run_dir=tmp_path, **values)  # type: ignore[arg-type]
    return TestClient(create_console(settings))


def test_the_configuration_names_the_services_and_the_sign_in(tmp_path) -> None:
    client = _client(tmp_path, supervision_url="/supervision/", environment="test")
    config = client.get("/config.json").json()
    assert config["services"]["supervision"] == "/supervision"
    assert config["sign_in"]["dev"] is True and config["sign_in"]["oidc"] is None
    assert "external_system" not in config["sign_in"]["roles"]
    assert client.get("/geography.geojson").json()["type"] == "FeatureCollection"
    assert '<script type="module"' in client.get("/").text
    assert client.get("/static/js/app.js").status_code == 200


async def test_a_development_token_is_one_the_services_accept(tmp_path) -> None:
    client = _client(tmp_path)
    unit = client.get("/units.json").json()[0]
    answer = client.post("/dev/token", json={"role": "unit_handler", "unit": unit["code"]})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    token = answer.json()["access_token"]
    principal = await TokenVerifier(ServiceSettings(run_dir=tmp_path)).verify(token)
    assert principal.role == "unit_handler" and principal.unit == unit["code"]
    assert jwt.decode(token, options={"verify_signature": False})["area"] == unit["jurisdiction"]


@pytest.mark.parametrize("body", [{"role": "king"}, {"role": "unit_handler", "unit": "NO-SUCH-UNIT"}])
def test_a_token_for_an_unknown_role_or_unit_is_refused(tmp_path, body) -> None:
    answer = _client(tmp_path).post("/dev/token", json=body)
    assert answer.status_code == 422 and answer.json()["code"] == "validation_failed"


def test_production_signs_in_at_the_county_identity_provider_only(tmp_path) -> None:
    with pytest.raises(ValidationError, match="OIDC_ISSUER"):
        ConsoleSettings(environment="production")
    client = _client(
        tmp_path, environment="production", oidc_issuer="https://idp.example/realms/x", oidc_client_id="c"
    )
    assert client.post("/dev/token", json={"role": "dispatcher"}).status_code in (404, 405)
    config = client.get("/config.json").json()
    assert config["sign_in"]["dev"] is False
    assert config["sign_in"]["oidc"]["client_id"] == "c"
