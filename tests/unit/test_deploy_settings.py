"""Every setting a service reads is given by the manifests: each service is built (its bootstrap, as at
start) in production from exactly what its pod gets in each overlay (the ConfigMaps' env, its Secrets'
keys, the files mounted into it, and nothing of the image's data/), and every operation of its OpenAPI
is published by the ingress under its prefix, or deliberately not (admin, metrics, probes)."""

import base64
import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from devtools.nats_auth import ensure_seed, seed_path
from dispatch_common.paths import DATA_DIR
from tests.deploy_support import OVERLAYS, PORTS, SERVICES, container, find, pod_spec, render

KEY = base64.b64encode(b"k" * 32).decode()
SECRET_VALUES = {
    "PII_ENC_KEYS": json.dumps({"active": "2026a", "keys": {"2026a": KEY}, "legacy": None}),
    "PII_HASH_KEY": KEY,
    "SMS_GATEWAY_SECRET": "a-real-gateway-secret",
    "WEBHOOK_SECRETS": '{"hotline": "a-real-webhook-secret"}',
    "SMTP_PASSWORD": "a-real-smtp-password",
    "connectionString.standard": "mongodb://svc:pw@dispatch-mongodb-0.invalid:27017/admin?replicaSet=dispatch-mongodb",
}
"""Stand-ins for the Secrets' values (the example's placeholders are refused in production on purpose)."""
FIELDS = {"metadata.name": "pod-7d9f-x2", "metadata.namespace": "county-dispatch", "spec.nodeName": "node-1"}


def _ca_certificate() -> bytes:
    """A self-signed CA certificate (PEM), standing in for the Secret nats-ca."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nats-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _configmap_files(target: str, source: dict[str, Any]) -> dict[str, str]:
    """The files a configMap volume (or projected source) lays out: path in the volume -> content."""
    name = source["name"]
    [cm] = [d for d in render(target) if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name]
    items = source.get("items")
    if items:
        return {i["path"]: cm["data"][i["key"]] for i in items}
    return dict(cm["data"])


def lay_out_pod(target: str, workload: dict[str, Any], name: str | None, root: Path) -> dict[str, str]:
    """Write the pod's mounted files under `root` and return the container's environment, its paths
    moved under `root` too."""
    pod, c = pod_spec(workload), container(workload, name)
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in c["volumeMounts"]:
        volume, where = volumes[mount["name"]], root / mount["mountPath"].lstrip("/")
        where.mkdir(parents=True, exist_ok=True)
        sources = volume.get("projected", {}).get("sources") or [volume]
        for source in sources:
            if "configMap" in source:
                for path, content in _configmap_files(target, source["configMap"]).items():
                    (where / path).parent.mkdir(parents=True, exist_ok=True)
                    (where / path).write_text(content, encoding="utf-8")
            elif "secret" in source and source["secret"]["secretName"] == "nats-ca":
                (where / "ca.crt").write_bytes(_ca_certificate())
            elif "secret" in source and source["secret"]["secretName"].startswith("dispatch-nats-"):
                user = source["secret"]["secretName"].removeprefix("dispatch-nats-")
                ensure_seed(root / "keys", user)
                (where / "seed.nk").write_bytes(seed_path(root / "keys", user).read_bytes())
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            env |= _configmap_files(target, {"name": source["configMapRef"]["name"]})
        else:
            from tests.deploy_support import example_secrets

            keys = example_secrets()[source["secretRef"]["name"]]
            env |= {k: SECRET_VALUES[k] for k in keys}
    for entry in c.get("env", []):
        if "value" in entry:
            env[entry["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), ""), entry["value"])
        elif "secretKeyRef" in entry["valueFrom"]:
            env[entry["name"]] = SECRET_VALUES[entry["valueFrom"]["secretKeyRef"]["key"]]
        else:
            env[entry["name"]] = FIELDS[entry["valueFrom"]["fieldRef"]["fieldPath"]]
    for key, value in env.items():
        if value.startswith(("/etc/dispatch/", "/var/run/secrets/")):
            env[key] = str(root / value.lstrip("/"))
    return env


def _settings_class(service: str) -> type[BaseModel]:
    module = importlib.import_module(f"services.{service}.config")
    [cls] = [v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings"]
    return cls


def _built(target: str, service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    for name in list(os.environ):
        if name.upper().endswith("_PORT") or name.upper() in ("PORT", "RUN_DIR"):
            monkeypatch.delenv(name)
    env = lay_out_pod(target, find(target, "Deployment", service), None, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RUN_DIR", str(tmp_path / "run"))
    settings = _settings_class(service)()
    assert settings.environment == "production"
    assert settings.port == PORTS[service]
    for field, info in type(settings).model_fields.items():  # none of the image's own data is read
        default = info.default
        if isinstance(default, Path) and default.is_relative_to(DATA_DIR):
            assert Path(getattr(settings, field)).is_relative_to(tmp_path), f"{field} is not given"
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    return bootstrap.create(settings)


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_builds_in_production_from_what_its_pod_is_given(
    target: str, service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _built(target, service, tmp_path, monkeypatch)
    assert app.openapi()["paths"]


def _route(paths: list[dict[str, Any]], request: str) -> str | None:
    """The Service an Ingress sends a request path to (Kubernetes' rules: exact or by path elements,
    the longest path first, exact before prefix)."""
    best: tuple[int, int, str] | None = None
    parts = request.split("/")
    for p in paths:
        rule, kind = p["path"], p["pathType"]
        if kind == "Exact" and request == rule:
            match = (len(rule), 1)
        elif kind == "Prefix" and parts[: len(rule.rstrip("/").split("/"))] == rule.rstrip("/").split("/"):
            match = (len(rule), 0)
        else:
            continue
        if best is None or match > best[:2]:
            best = (*match, p["backend"]["service"]["name"])
    return best[2] if best else None


@pytest.mark.parametrize("service", SERVICES)
def test_the_ingress_publishes_each_operation_under_the_services_prefix_but_admin_and_operations(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _built("prod", service, tmp_path, monkeypatch)
    [rule] = find("prod", "Ingress", "dispatch")["spec"]["rules"]
    paths = rule["http"]["paths"]
    published, kept_in = 0, 0
    for path in app.openapi()["paths"]:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        backend = _route(paths, f"/{service}{concrete}")
        inside = "/admin/" in path or path in ("/healthz", "/readyz", "/metrics")
        if inside:
            assert backend in (None, "not-published"), f"{path} is published"
            kept_in += 1
        else:
            assert backend == service, f"{path} is not published (goes to {backend})"
            published += 1
    assert published and kept_in >= 3
    for page in ("/docs", "/openapi.json"):
        assert _route(paths, f"/{service}{page}") == service
    assert _route(paths, "/metrics") is None and _route(paths, f"/{service}/metrics") is None
    assert _route(paths, f"/{service}/v1/administrative") == service  # path elements, not characters
    assert _route(paths, f"/{service}/v1admin") is None


def test_every_overlay_was_rendered_with_objects_counted() -> None:
    counts = {target: len(render(target)) for target in OVERLAYS}
    assert counts["dev"] > counts["prod"] > 30
