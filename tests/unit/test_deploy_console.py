"""The console's deployable: it starts in production from what its pod is given, the ingress sends the
console's paths to it and nothing else, and only the ingress controller may reach it."""

import pytest

from console.settings import ConsoleSettings
from tests.deploy_support import OVERLAYS, container, find, of_kind, pod_spec
from tests.unit.test_deploy_manifests import _opened
from tests.unit.test_deploy_settings import _route


@pytest.mark.parametrize("target", OVERLAYS)
def test_the_console_starts_in_production_from_its_pods_settings(target: str) -> None:
    deployment = find(target, "Deployment", "console")
    env = {e["name"]: e["value"] for e in container(deployment)["env"]}
    settings = ConsoleSettings(**{k.lower(): v for k, v in env.items() if k != "CONSOLE_PORT"})
    assert settings.environment == "production" and not settings.dev_sign_in
    assert settings.service_urls()["supervision"] == "/supervision"
    mounted = {m["mountPath"] for m in container(deployment)["volumeMounts"]}
    assert env["COUNTY_DIR"] in mounted
    assert env["CONSOLE_PORT"] == str(container(deployment)["ports"][0]["containerPort"])
    assert pod_spec(deployment)["enableServiceLinks"] is False


@pytest.mark.parametrize("target", OVERLAYS)
def test_the_ingress_serves_the_console_beside_the_services(target: str) -> None:
    ingress = next(i for i in of_kind(target, "Ingress") if i["metadata"]["name"] == "dispatch")
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    for page in ("/", "/static/js/app.js", "/config.json", "/geography.geojson", "/units.json"):
        assert _route(paths, page) == "console", page
    assert _route(paths, "/supervision/v1/cases") == "supervision"
    assert _route(paths, "/metrics") is None and _route(paths, "/healthz") is None
    assert _route(paths, "/dev/token") is None


@pytest.mark.parametrize("target", OVERLAYS)
def test_only_the_ingress_controller_reaches_the_console(target: str) -> None:
    labels = find(target, "Deployment", "console")["spec"]["template"]["metadata"]["labels"]
    peers = _opened(target, labels)
    assert set(peers) == {8000}
    assert all("namespaceSelector" in p for p in peers[8000])
