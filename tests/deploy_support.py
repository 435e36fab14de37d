"""What the deploy tests share: each overlay rendered by kubectl's built-in kustomize, and the objects'
parts the tests read."""

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import missing

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
OVERLAYS = ("dev", "prod")
NAMESPACE = "county-dispatch"
SERVICES = ("intake", "routing", "mediation", "supervision", "notify")
PORTS = {"intake": 8001, "routing": 8002, "mediation": 8003, "supervision": 8004, "notify": 8005}


def kubectl() -> str:
    """kubectl, which renders with its built-in kustomize; CI must have it (the machine image does)."""
    found = shutil.which("kubectl")
    if found is None:
        missing("kubectl is not installed: the deploy tests render the overlays with it")  # CI fails
    return found


@functools.cache
def render(target: str) -> tuple[dict[str, Any], ...]:
    """The objects an overlay (or `base`) applies, as kustomize builds them."""
    path = DEPLOY / ("base" if target == "base" else f"overlays/{target}")
    built = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert built.returncode == 0, built.stderr
    return tuple(d for d in yaml.safe_load_all(built.stdout) if d)


def find(target: str, kind: str, name: str) -> dict[str, Any]:
    """The one object of a kind and name (ConfigMaps by their name before the hash suffix)."""
    found = [
        d
        for d in render(target)
        if d["kind"] == kind
        and (
            d["metadata"]["name"] == name
            or (kind == "ConfigMap" and d["metadata"]["name"].rsplit("-", 1)[0] == name)
        )
    ]
    assert len(found) == 1, f"expected one {kind} {name} in {target}, found {len(found)}"
    return found[0]


def of_kind(target: str, kind: str) -> list[dict[str, Any]]:
    """Every object of a kind."""
    return [d for d in render(target) if d["kind"] == kind]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod template's spec of a Deployment, StatefulSet, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def container(workload: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """A workload's container (its only one, or the one named)."""
    containers = pod_spec(workload)["containers"]
    if name is None:
        assert len(containers) == 1
        return containers[0]
    [found] = [c for c in containers if c["name"] == name]
    return found


def config_data(target: str, name: str) -> dict[str, str]:
    """A ConfigMap's data."""
    return find(target, "ConfigMap", name)["data"]


def example_secrets() -> dict[str, dict[str, str]]:
    """The Secrets of secrets.example.yaml: name -> keys and placeholder values."""
    with (DEPLOY / "base" / "secrets.example.yaml").open(encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d and d["kind"] == "Secret"]
    return {d["metadata"]["name"]: {**d.get("stringData", {}), **d.get("data", {})} for d in docs}
