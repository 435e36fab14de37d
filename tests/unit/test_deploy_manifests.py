"""The Kubernetes manifests under deploy/ agree with the code: ports, probes, settings names, security."""

import functools
import inspect
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from dispatch_common import crypto
from dispatch_common.settings import ServiceSettings
from services.intake.config import IntakeSettings
from services.mediation.config import MediationSettings
from services.notify.config import NotifySettings
from services.routing.config import RoutingSettings
from services.supervision.config import SupervisionSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BASE = DEPLOY / "base"
NAMESPACE = "county-dispatch"

SETTINGS: dict[str, type[ServiceSettings]] = {
    "intake": IntakeSettings,
    "routing": RoutingSettings,
    "mediation": MediationSettings,
    "supervision": SupervisionSettings,
    "notify": NotifySettings,
}


@functools.cache
def _load(path: Path) -> list[dict[str, Any]]:
    """The documents of one YAML file (read once; callers do not modify them)."""
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def _kustomization(path: Path) -> dict[str, Any]:
    return _load(path / "kustomization.yaml")[0]


def _all_base_docs() -> dict[str, list[dict[str, Any]]]:
    return {p.name: _load(p) for p in sorted(BASE.glob("*.yaml")) if p.name != "kustomization.yaml"}


def _resources() -> list[dict[str, Any]]:
    """The objects the base applies: the documents of the files listed in its kustomization."""
    docs = []
    for name in _kustomization(BASE)["resources"]:
        docs.extend(_load(BASE / name))
    return docs


def _find(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _resources() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name} in the base resources, found {len(found)}"
    return found[0]


def _config_map() -> dict[str, str]:
    return _find("ConfigMap", "dispatch-config")["data"]


def _accepted_env_names(cls: type[ServiceSettings]) -> set[str]:
    """The environment variable names a settings class reads (case-insensitive: lower case here)."""
    names = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names.add(field_name.lower())
        elif isinstance(alias, AliasChoices):
            names.update(str(choice).lower() for choice in alias.choices)
        else:
            names.add(str(alias).lower())
    return names


def _port_aliases(cls: type[ServiceSettings]) -> set[str]:
    alias = cls.model_fields["port"].validation_alias
    assert isinstance(alias, AliasChoices)
    return {str(choice).lower() for choice in alias.choices}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _probe_port(container: dict[str, Any], probe: dict[str, Any]) -> int:
    """A probe's port as a number, resolving a named container port."""
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    assert named, f"probe port {port!r} names no container port"
    return named[0]


def _dockerfile_workdir() -> Path:
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    [workdir] = [line.split()[1] for line in lines if line.startswith("WORKDIR ")]
    return Path(workdir)


def _placeholder_secret_values() -> dict[str, dict[str, str]]:
    secrets = [d for d in _load(BASE / "secrets.example.yaml") if d["kind"] == "Secret"]
    return {s["metadata"]["name"]: {**s.get("stringData", {}), **s.get("data", {})} for s in secrets}


def test_every_resource_listed_in_the_kustomization_exists_and_the_example_secret_is_not_listed() -> None:
    kustomization = _kustomization(BASE)
    assert kustomization["namespace"] == NAMESPACE
    for name in kustomization["resources"]:
        assert (BASE / name).is_file(), f"{name} is listed in the kustomization but missing"
        assert _load(BASE / name), f"{name} holds no object"
    assert "secrets.example.yaml" not in kustomization["resources"]
    assert (BASE / "secrets.example.yaml").is_file()
    for service in SETTINGS:
        assert f"{service}.yaml" in kustomization["resources"]


def test_the_kustomization_labels_the_platform_and_names_the_image() -> None:
    kustomization = _kustomization(BASE)
    labels = kustomization.get("labels") or [{"pairs": kustomization.get("commonLabels", {})}]
    assert any(entry["pairs"].get("app.kubernetes.io/part-of") == NAMESPACE for entry in labels)
    assert [image["name"] for image in kustomization["images"]] == ["county-dispatch"]
    namespaces = [d for d in _resources() if d["kind"] == "Namespace"]
    assert [n["metadata"]["name"] for n in namespaces] == [NAMESPACE]


def test_every_yaml_file_under_base_parses_into_kubernetes_objects() -> None:
    for name, docs in _all_base_docs().items():
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{name}: not a Kubernetes object"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_deployment_matches_its_settings(service: str) -> None:
    port = SETTINGS[service].model_fields["port"].default
    deployment = _find("Deployment", service)
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)

    assert deployment["spec"]["replicas"] == 2
    assert container["image"] == "county-dispatch"
    assert container["command"] == ["python", "-m", f"services.{service}"]
    assert (REPO / "services" / service / "__main__.py").is_file()
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [("http", port)]

    # Probes: liveness and startup on /healthz, readiness on /readyz, all on the service's port.
    for probe_name, path in (
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        probe = container[probe_name]
        assert probe["httpGet"]["path"] == path, f"{service} {probe_name}"
        assert _probe_port(container, probe) == port, f"{service} {probe_name}"

    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"

    env_from = container["envFrom"]
    assert {"configMapRef": {"name": "dispatch-config"}} in env_from
    assert {"secretRef": {"name": "dispatch-secrets"}} in env_from

    # Kubernetes' Docker-link variables would set <SERVICE>_PORT=tcp://...:port, an alias of the port.
    assert pod["enableServiceLinks"] is False


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_runs_locked_down_with_resource_limits(service: str) -> None:
    deployment = _find("Deployment", service)
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    pod_security, security = pod.get("securityContext", {}), container["securityContext"]

    assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True
    assert security.get("runAsUser", pod_security.get("runAsUser", 0)) != 0
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    # A read-only root filesystem needs a writable /tmp (jieba caches its dictionary there).
    tmp_mounts = [m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert tmp_mounts
    assert any(v["name"] == tmp_mounts[0] and "emptyDir" in v for v in pod["volumes"])

    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["limits"].keys()
    assert {"cpu", "memory"} <= resources["requests"].keys()


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_has_a_service_and_a_disruption_budget(service: str) -> None:
    port = SETTINGS[service].model_fields["port"].default
    selector = _find("Deployment", service)["spec"]["selector"]["matchLabels"]
    pod_labels = _find("Deployment", service)["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()

    svc = _find("Service", service)
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert svc["spec"]["selector"] == selector
    [svc_port] = svc["spec"]["ports"]
    assert svc_port["name"] == "http"
    assert svc_port["port"] == port
    assert svc_port["targetPort"] in ("http", port)

    pdb = _find("PodDisruptionBudget", service)
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == selector


def test_every_config_map_key_is_a_setting_the_services_read() -> None:
    accepted = set().union(*(_accepted_env_names(cls) for cls in SETTINGS.values()))
    unknown = sorted(key for key in _config_map() if key.lower() not in accepted)
    assert not unknown, f"the ConfigMap sets names no settings class reads: {unknown}"


def test_the_shared_config_map_sets_no_port() -> None:
    port_names = set().union(*(_port_aliases(cls) for cls in SETTINGS.values()))
    assert "port" in port_names
    assert not port_names & {key.lower() for key in _config_map()}


def test_the_config_map_points_at_the_nats_service_and_sets_no_secret() -> None:
    config = _config_map()
    assert config["ENVIRONMENT"] == "production"
    assert config["NATS_URL"] in (
        "nats://nats:4222",
        f"nats://nats.{NAMESPACE}:4222",
        f"nats://nats.{NAMESPACE}.svc:4222",
        f"nats://nats.{NAMESPACE}.svc.cluster.local:4222",
    )
    nats = _find("Service", "nats")
    assert {(p["name"], p["port"]) for p in nats["spec"]["ports"]} >= {("client", 4222), ("monitor", 8222)}
    secret_names = {key for values in _placeholder_secret_values().values() for key in values}
    assert not secret_names & config.keys()
    assert "MONGODB_URL" in secret_names


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_the_config_map_is_accepted_by_the_settings_in_production(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = SETTINGS[service]
    for name in _port_aliases(cls):
        monkeypatch.delenv(name.upper(), raising=False)
    for key, value in _config_map().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MONGODB_URL", "mongodb://mongodb.example.invalid:27017/?replicaSet=rs0")
    settings = cls()
    assert settings.environment == "production"
    assert settings.port == _container(_find("Deployment", service))["ports"][0]["containerPort"]
    assert settings.nats_url == _config_map()["NATS_URL"]
    # COUNTY_DIR names a county package the image carries: a path under the Dockerfile's WORKDIR.
    workdir = _dockerfile_workdir()
    assert settings.county_dir.is_relative_to(workdir)
    in_repo = REPO / settings.county_dir.relative_to(workdir)
    assert (in_repo / "geography.geojson").is_file(), f"{settings.county_dir} is no county package"


def test_no_secret_with_data_is_applied_and_the_example_holds_only_placeholders() -> None:
    assert not [d for d in _resources() if d["kind"] == "Secret"]
    examples = _placeholder_secret_values()
    for name, values in examples.items():
        for key, value in values.items():
            assert value in ("REPLACE_ME", "[]", "{}", ""), f"{name}.{key} must be a placeholder"


def _secret_mounts(workload: dict[str, Any]) -> dict[str, str]:
    """The Secrets a workload mounts as files: Secret name -> mount path."""
    volumes = {
        v["name"]: v["secret"]["secretName"]
        for v in workload["spec"]["template"]["spec"]["volumes"]
        if "secret" in v
    }
    mounts = _container(workload)["volumeMounts"]
    return {volumes[m["name"]]: m["mountPath"] for m in mounts if m["name"] in volumes}


def test_the_example_secrets_are_the_ones_the_deployments_read_and_hold_names_the_code_reads() -> None:
    examples = _placeholder_secret_values()
    in_env, as_files = set(), {}
    for service in SETTINGS:
        deployment = _find("Deployment", service)
        for source in _container(deployment)["envFrom"]:
            if "secretRef" in source:
                in_env.add(source["secretRef"]["name"])
        as_files |= _secret_mounts(deployment)
    as_files |= _secret_mounts(_find("StatefulSet", "nats"))
    assert in_env | as_files.keys() == examples.keys()

    accepted = set().union(*(_accepted_env_names(cls) for cls in SETTINGS.values()))
    crypto_source = inspect.getsource(crypto)
    for name in in_env:
        for key in examples[name]:
            assert key.lower() in accepted or f'"{key}"' in crypto_source, f"nothing reads {key}"
    # a file Secret's keys are files something is pointed at: a service's seed, the server's users
    seed_file = _config_map()["NATS_NKEY_SEED_FILE"]
    nats_conf = _find("ConfigMap", "nats-config")["data"]["nats.conf"]
    for name, path in as_files.items():
        for key in examples[name]:
            assert f"{path}/{key}" == seed_file or (
                f"include ./auth/{key}" in nats_conf and path == "/etc/nats/auth"
            )


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_mounts_its_own_nats_identity_and_no_other(service: str) -> None:
    mounts = _secret_mounts(_find("Deployment", service))
    assert mounts == {f"dispatch-nats-{service}": str(Path(_config_map()["NATS_NKEY_SEED_FILE"]).parent)}


def test_the_nats_server_runs_with_the_generated_users_and_admits_external_systems() -> None:
    config = _find("ConfigMap", "nats-config")["data"]["nats.conf"]
    assert "include ./auth/auth.conf" in config
    assert _secret_mounts(_find("StatefulSet", "nats")) == {"nats-auth": "/etc/nats/auth"}
    policy = _find("NetworkPolicy", "allow-nats-clients")["spec"]
    assert any("ipBlock" in peer for rule in policy["ingress"] for peer in rule["from"])


def test_pii_keys_go_to_intake_notify_and_mediation_alone() -> None:
    """Intake encrypts personal data; notify decrypts a phone number at the moment it sends an SMS;
    mediation encrypts the parties' names and its agreements."""
    pii_secrets = {name for name, values in _placeholder_secret_values().items() if "PII_ENC_KEYS" in values}
    assert pii_secrets
    for service in SETTINGS:
        names = {
            s["secretRef"]["name"]
            for s in _container(_find("Deployment", service))["envFrom"]
            if "secretRef" in s
        }
        assert bool(names & pii_secrets) == (service in ("intake", "notify", "mediation")), service


def test_nats_is_a_single_jetstream_node_on_a_volume() -> None:
    statefulset = _find("StatefulSet", "nats")
    assert statefulset["spec"]["replicas"] == 1
    assert statefulset["spec"]["volumeClaimTemplates"]
    container = _container(statefulset)
    assert {p["containerPort"] for p in container["ports"]} == {4222, 8222}
    config = _find("ConfigMap", "nats-config")["data"]["nats.conf"]
    assert "jetstream" in config
    assert "store_dir: /data" in config
    assert any(m["mountPath"] == "/data" for m in container["volumeMounts"])


def test_network_policies_deny_by_default_and_open_the_service_and_nats_ports() -> None:
    policies = {d["metadata"]["name"]: d["spec"] for d in _resources() if d["kind"] == "NetworkPolicy"}
    deny = [p for p in policies.values() if p["podSelector"] == {} and not p.get("ingress")]
    assert deny and "Ingress" in deny[0]["policyTypes"]

    def opened(pod_labels: dict[str, str]) -> set[int]:
        ports = set()
        for policy in policies.values():
            match = policy["podSelector"].get("matchLabels", {})
            if match and match.items() <= pod_labels.items():
                for rule in policy.get("ingress", []):
                    ports.update(p["port"] for p in rule.get("ports", []))
        return ports

    for service, cls in SETTINGS.items():
        labels = _find("Deployment", service)["spec"]["template"]["metadata"]["labels"]
        assert cls.model_fields["port"].default in opened(labels), service
    nats_labels = _find("StatefulSet", "nats")["spec"]["template"]["metadata"]["labels"]
    assert 4222 in opened(nats_labels)


def test_the_dev_overlay_runs_one_replica_of_each_with_the_dev_image() -> None:
    overlay = _kustomization(DEPLOY / "overlays" / "dev")
    assert overlay["resources"] == ["../../base"]
    assert {r["name"]: r["count"] for r in overlay["replicas"]} == dict.fromkeys(SETTINGS, 1)
    assert [(i["name"], i["newTag"]) for i in overlay["images"]] == [("county-dispatch", "dev")]


# kubectl is an optional tool (not a project dependency, not installable from PyPI): where it is
# missing, the tests above still check every manifest with PyYAML; this one adds the real kustomize
# build on machines that have it (this one does). Nothing is hidden: a failing build fails here.
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("target", ["base", "overlays/dev"])
def test_kustomize_builds(target: str) -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert all(d["metadata"].get("namespace") == NAMESPACE for d in docs if d["kind"] != "Namespace")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert deployments.keys() == SETTINGS.keys()
    tag = "dev" if target == "overlays/dev" else None
    for deployment in deployments.values():
        image = _container(deployment)["image"]
        assert image.startswith("county-dispatch:")
        if tag:
            assert image == f"county-dispatch:{tag}"
            assert deployment["spec"]["replicas"] == 1
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == NAMESPACE
