"""Every object each overlay renders is valid for the Kubernetes versions the platform supports (strict:
an unknown field is an error), every custom resource for the schema of its operator (vendored), and the
NATS chart's values only use keys the pinned chart has."""

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy_support import DEPLOY, OVERLAYS, render

KUBERNETES_VERSIONS = ("1.32.0", "1.35.0")
"""The oldest and newest Kubernetes the manifests are checked against (kubernetes-validate's schemas)."""
CRDS = DEPLOY / "schemas" / "crds"
FREE_FORM = {"merge", "patch", "env", "resources", "topologySpreadConstraints", "labels"}
"""Keys of the chart's values under which anything goes (merged or patched into the rendered objects)."""


def _strict(schema: Any) -> Any:
    """A CRD's schema with unknown fields refused, as `kubectl apply --validate=strict` does."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for path in CRDS.glob("*.json"):
        vendored = json.loads(path.read_text(encoding="utf-8"))
        schema = _strict(copy.deepcopy(vendored["schema"]))
        schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta, checked by the API server
        schemas[(vendored["apiVersion"], vendored["kind"])] = schema
    return schemas


def _custom(doc: dict[str, Any]) -> bool:
    return (doc["apiVersion"], doc["kind"]) in _crd_schemas()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("target", OVERLAYS)
def test_every_object_is_valid_for_the_kubernetes_versions_supported(target: str, version: str) -> None:
    checked = 0
    for doc in render(target):
        if _custom(doc):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(
                f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}"
            ) from exc
        checked += 1
    assert checked >= 35


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_custom_resource_is_valid_for_its_operators_schema(target: str) -> None:
    custom = [d for d in render(target) if _custom(d)]
    assert {d["kind"] for d in custom} == {"MongoDBCommunity", "PodMonitor", "PrometheusRule"}
    for doc in custom:
        schema = _crd_schemas()[(doc["apiVersion"], doc["kind"])]
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, (
            f"{doc['kind']}/{doc['metadata']['name']}: {[(list(e.path), e.message) for e in errors]}"
        )


def test_the_strict_crd_schema_refuses_a_misspelt_field() -> None:
    [mongodb] = [d for d in render("prod") if d["kind"] == "MongoDBCommunity"]
    broken = copy.deepcopy(mongodb)
    broken["spec"]["users"][0]["connectionStringSecretNmae"] = "x"
    schema = _crd_schemas()[(broken["apiVersion"], broken["kind"])]
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_the_kubernetes_validation_refuses_an_unknown_field() -> None:
    [deployment] = [d for d in render("prod") if d["kind"] == "Deployment"][:1]
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def _unknown_keys(ours: Any, chart: Any, path: str = "") -> list[str]:
    """Keys of our values the chart's values.yaml does not have (or of another type)."""
    if not isinstance(ours, dict):
        return []
    unknown = []
    for key, value in ours.items():
        where = f"{path}.{key}" if path else str(key)
        if path.rsplit(".", 1)[-1] in FREE_FORM or path in FREE_FORM:
            continue
        if not isinstance(chart, dict) or key not in chart:
            unknown.append(where)
            continue
        default = chart[key]
        if key in FREE_FORM:
            continue
        if isinstance(default, dict) != isinstance(value, dict) and default is not None:
            unknown.append(f"{where} (the chart has {type(default).__name__})")
            continue
        unknown += _unknown_keys(value, default, where)
    return unknown


def _values() -> tuple[dict[str, Any], dict[str, Any]]:
    ours = yaml.safe_load((DEPLOY / "nats" / "values.yaml").read_text(encoding="utf-8"))
    chart = yaml.safe_load((DEPLOY / "schemas" / "nats-chart" / "values.yaml").read_text(encoding="utf-8"))
    return ours, chart


def test_the_nats_values_use_only_keys_of_the_pinned_chart() -> None:
    ours, chart = _values()
    assert _unknown_keys(ours, chart) == []
    assert _unknown_keys({"config": {"jetstream": {"filestore": {}}}}, chart) == [
        "config.jetstream.filestore"
    ]


def test_the_nats_values_make_a_three_node_jetstream_cluster_with_tls_users_and_fsync() -> None:
    values, _ = _values()
    config = values["config"]
    assert config["cluster"] == {
        "enabled": True,
        "replicas": 3,
        "tls": {"enabled": True, "secretName": "nats-tls"},
    }
    assert config["jetstream"]["enabled"] and config["jetstream"]["fileStore"]["pvc"]["enabled"]
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    assert config["nats"]["tls"]["enabled"] is True
    assert config["merge"]["00$include"] == "auth/auth.conf"
    [mount] = [p["value"] for p in values["container"]["patch"] if p["path"] == "/volumeMounts/-"]
    [volume] = [p["value"] for p in values["podTemplate"]["patch"] if p["path"] == "/spec/volumes/-"]
    assert mount["name"] == volume["name"] and volume["secret"]["secretName"] == "nats-auth"
    assert (
        mount["mountPath"] == "/etc/nats-config/auth"
    )  # the chart's includes are relative to /etc/nats-config
    assert values["promExporter"] == values["promExporter"] | {
        "enabled": True,
        "podMonitor": {"enabled": True},
    }
    chart_version = (DEPLOY / "schemas" / "README.md").read_text(encoding="utf-8")
    assert "2.14.2" in chart_version and "--version 2.14.2" in (DEPLOY / "nats" / "values.yaml").read_text()


def test_the_vendored_schemas_carry_their_licences() -> None:
    for folder in (CRDS, DEPLOY / "schemas" / "nats-chart"):
        assert any(p.name.startswith("LICENSE") for p in folder.iterdir()), folder
    assert Path(kubernetes_validate.__file__).parent.joinpath("kubernetes-json-schema").is_dir()
