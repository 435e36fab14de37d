"""The Kubernetes manifests, as each overlay renders them: the services' shape, probes, security,
disruption budgets, secrets, data mounts, network policies, NATS, MongoDB and the migration Job."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy_support import (
    DEPLOY,
    NAMESPACE,
    OVERLAYS,
    PORTS,
    REPO,
    SERVICES,
    config_data,
    container,
    example_secrets,
    find,
    of_kind,
    pod_spec,
    render,
)

BY_OPERATORS = {f"dispatch-mongodb-{u}" for u in (*SERVICES, "backup", "restore")}
"""Secrets the MongoDB operator writes (connection strings): referenced, never created by hand."""


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_object_but_the_namespace_lives_in_the_platforms_namespace(target: str) -> None:
    for doc in render(target):
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]
        labels = doc["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == NAMESPACE, doc["metadata"]["name"]
    [namespace] = of_kind(target, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_its_module_on_its_port_with_probes(target: str, service: str) -> None:
    deployment = find(target, "Deployment", service)
    pod, main = pod_spec(deployment), container(deployment)
    port = PORTS[service]
    assert main["command"] == ["python", "-m", f"services.{service}"]
    assert (REPO / "services" / service / "__main__.py").is_file()
    assert [(p["name"], p["containerPort"]) for p in main["ports"]] == [("http", port)]
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        assert main[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    assert pod["enableServiceLinks"] is False  # <SERVICE>_PORT=tcp://... would be taken for the port
    env = {e["name"]: e for e in main["env"]}
    assert env["HTTP_ROOT_PATH"]["value"] == f"/{service}"
    assert env["MONGODB_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": f"dispatch-mongodb-{service}",
        "key": "connectionString.standard",
    }
    image = main["image"]
    assert image.startswith("county-dispatch:dev" if target == "dev" else "REPLACE_ME.registry.example/")


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_shuts_down_within_its_grace_period(target: str, service: str) -> None:
    deployment = find(target, "Deployment", service)
    pod, main = pod_spec(deployment), container(deployment)
    pre_stop = main["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # preStop, uvicorn's 10 s drain, then four shutdown steps of at most 10 s (dispatch_common/runtime.py)
    assert int(pre_stop[1]) + 10 + 4 * 10 < pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_pod_meets_the_restricted_pod_security_profile(target: str) -> None:
    workloads = [d for d in render(target) if d["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")]
    assert len(workloads) >= 7
    for workload in workloads:
        pod = pod_spec(workload)
        pod_security = pod.get("securityContext", {})
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", workload["metadata"]
        for c in pod["containers"]:
            security = c["securityContext"]
            assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True
            assert security.get("runAsUser", pod_security.get("runAsUser", 0)) != 0
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            assert {"cpu", "memory"} <= c["resources"]["limits"].keys()
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys()
        assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_service_and_a_disruption_budget(target: str, service: str) -> None:
    deployment = find(target, "Deployment", service)
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    svc = find(target, "Service", service)
    assert svc["spec"]["selector"] == selector
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [
        ("http", PORTS[service], "http")
    ]
    pdb = find(target, "PodDisruptionBudget", service)["spec"]
    assert pdb["selector"]["matchLabels"] == selector
    if target == "dev":  # one replica: a drain may take it
        assert pdb == {"maxUnavailable": 1, "selector": pdb["selector"]}
        assert deployment["spec"]["replicas"] == 1
    else:
        assert pdb["minAvailable"] == 1 and deployment["spec"]["replicas"] == 2


def test_production_scales_the_services_that_scale_and_dev_runs_one_of_each() -> None:
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"] for h in of_kind("prod", "HorizontalPodAutoscaler")
    }
    assert set(hpas) == {"intake", "routing", "supervision"}
    for spec in hpas.values():
        assert spec["minReplicas"] >= 2 and spec["maxReplicas"] > spec["minReplicas"]
    assert not of_kind("dev", "HorizontalPodAutoscaler")


@pytest.mark.parametrize("target", OVERLAYS)
def test_no_secret_is_applied_and_every_secret_used_is_in_the_example_or_made_by_an_operator(
    target: str,
) -> None:
    assert not of_kind(target, "Secret")
    used: set[str] = set()
    for workload in [
        d for d in render(target) if d["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")
    ]:
        pod = pod_spec(workload)
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                used.add(volume["secret"]["secretName"])
        for c in pod["containers"]:
            used |= {s["secretRef"]["name"] for s in c.get("envFrom", []) if "secretRef" in s}
            used |= {
                e["valueFrom"]["secretKeyRef"]["name"]
                for e in c.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            }
    examples = example_secrets()
    missing = used - examples.keys() - BY_OPERATORS
    assert not missing, f"secrets used but neither in secrets.example.yaml nor made by an operator: {missing}"
    for name, values in examples.items():
        for key, value in values.items():
            assert value in ("REPLACE_ME", "[]", "{}", ""), f"{name}.{key} must be a placeholder"
    mongodb = find(target, "MongoDBCommunity", "dispatch-mongodb")["spec"]
    made = {u["connectionStringSecretName"] for u in mongodb["users"]}
    assert made == BY_OPERATORS
    passwords = {u["passwordSecretRef"]["name"] for u in mongodb["users"]}
    assert passwords <= examples.keys()


@pytest.mark.parametrize("target", OVERLAYS)
def test_each_service_user_may_read_and_write_its_own_database_only(target: str) -> None:
    mongodb = find(target, "MongoDBCommunity", "dispatch-mongodb")["spec"]
    prefix = config_data(target, "dispatch-config")["MONGODB_DB_PREFIX"]
    users = {u["name"]: u for u in mongodb["users"]}
    for service in SERVICES:
        assert users[service]["roles"] == [{"name": "readWrite", "db": f"{prefix}{service}"}]
    assert users["backup"]["roles"] == [{"name": "backup", "db": "admin"}]
    assert mongodb["version"].startswith("8.0.")  # a client bulkWrite across collections needs 8.0
    assert mongodb["members"] == (1 if target == "dev" else 3)


@pytest.mark.parametrize("target", OVERLAYS)
def test_pii_keys_go_to_intake_notify_mediation_and_supervision_alone(target: str) -> None:
    """Supervision seals the risk ledger's parties (decision 0039); routing never sees a key."""
    pii = {name for name, values in example_secrets().items() if "PII_ENC_KEYS" in values}
    for service in SERVICES:
        names = {
            s["secretRef"]["name"]
            for s in container(find(target, "Deployment", service))["envFrom"]
            if "secretRef" in s
        }
        assert bool(names & pii) == (service in ("intake", "notify", "mediation", "supervision")), service


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_mounts_its_own_nats_identity_and_no_other(target: str, service: str) -> None:
    pod = pod_spec(find(target, "Deployment", service))
    secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert {s for s in secrets if s.startswith("dispatch-nats-")} == {f"dispatch-nats-{service}"}


def test_the_migration_job_runs_each_services_migration_with_that_services_credentials() -> None:
    for target in OVERLAYS:
        job = find(target, "Job", "dispatch-migrate")
        for service in SERVICES:
            c = container(job, service)
            assert c["command"] == ["python", "-m", "services.migrate", service]
            [url] = [e for e in c["env"] if e["name"] == "MONGODB_URL"]
            assert url["valueFrom"]["secretKeyRef"]["name"] == f"dispatch-mongodb-{service}"
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
    assert config_data("prod", "dispatch-config")["BUILD_INDEXES_AT_START"] == "false"
    assert (REPO / "services" / "migrate.py").is_file()


def test_the_backup_dumps_as_the_backup_user_into_its_volume() -> None:
    cron = find("prod", "CronJob", "dispatch-mongodb-backup")
    c = container(cron)
    assert "mongodump" in c["args"][0] and "--oplog" in c["args"][0]
    [uri] = [e for e in c["env"] if e["name"] == "MONGODB_URI"]
    assert uri["valueFrom"]["secretKeyRef"]["name"] == "dispatch-mongodb-backup"
    volumes = {v["name"]: v for v in pod_spec(cron)["volumes"]}
    claim = volumes["backups"]["persistentVolumeClaim"]["claimName"]
    assert find("prod", "PersistentVolumeClaim", claim)
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def _opened(target: str, pod_labels: dict[str, str]) -> dict[int, list[dict[str, Any]]]:
    """Port -> the peers admitted to pods with these labels."""
    ports: dict[int, list[dict[str, Any]]] = {}
    for policy in of_kind(target, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        match = selector.get("matchLabels", {})
        if not match or not match.items() <= pod_labels.items():
            continue
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                ports.setdefault(port["port"], []).extend(rule.get("from", []))
    return ports


@pytest.mark.parametrize("target", OVERLAYS)
def test_network_policies_deny_by_default_and_open_what_each_part_serves(target: str) -> None:
    policies = of_kind(target, "NetworkPolicy")
    assert any(p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") for p in policies)
    for service in SERVICES:
        labels = find(target, "Deployment", service)["spec"]["template"]["metadata"]["labels"]
        assert PORTS[service] in _opened(target, labels), service
    assert 4222 in _opened(target, {"app.kubernetes.io/name": "nats"})
    assert 6222 in _opened(target, {"app.kubernetes.io/name": "nats"})  # the chart's cluster routes
    peers = _opened(target, {"app": "dispatch-mongodb-svc"})[27017]
    admitted = {
        v for p in peers for e in p.get("podSelector", {}).get("matchExpressions", []) for v in e["values"]
    }
    assert {"service", "migration", "backup"} <= admitted


def test_dev_runs_one_nats_node_that_fsyncs_and_prod_points_at_the_charts_three() -> None:
    statefulset = find("dev", "StatefulSet", "nats")
    assert statefulset["spec"]["replicas"] == 1
    conf = config_data("dev", "nats-config")["nats.conf"]
    assert "sync_interval: always" in conf and "include ./auth/auth.conf" in conf
    assert config_data("dev", "dispatch-config")["STREAM_REPLICAS"] == "1"
    assert not [d for d in of_kind("prod", "StatefulSet") if d["metadata"]["name"] == "nats"]
    prod = config_data("prod", "dispatch-config")
    assert prod["STREAM_REPLICAS"] == "3"
    servers = prod["NATS_URL"].split(",")
    assert len(servers) == 3 and all(s.startswith("tls://nats-") for s in servers)
    assert prod["NATS_TLS_CA_FILE"].startswith("/var/run/secrets/dispatch/nats-ca/")


def test_every_data_file_of_the_configmaps_is_a_file_of_the_repository() -> None:
    with (REPO / "data" / "kustomization.yaml").open(encoding="utf-8") as fh:
        generators = yaml.safe_load(fh)["configMapGenerator"]
    for generator in generators:
        for file in generator["files"]:
            path = file.partition("=")[2] or file  # `key=path` names a key other than the file's name
            assert (REPO / "data" / path).is_file(), file
    [county] = [g for g in generators if g["name"] == "county-package"]
    from services.routing.domain.county import PACKAGE_FILES

    assert sorted(Path(f).name for f in county["files"]) == sorted(PACKAGE_FILES)
    folder = REPO / "data" / "notify" / "letters"  # a letter in another language: letters/<language>/
    letters = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    [notify] = [g for g in generators if g["name"] == "notify-letters"]
    shipped = {
        Path(f.partition("=")[2] or f).relative_to("notify/letters").as_posix() for f in notify["files"]
    }
    assert shipped == letters
    templates = {p.name for p in (REPO / "data" / "mediation" / "templates").iterdir()}
    [mediation] = [g for g in generators if g["name"] == "mediation-templates"]
    assert {Path(f).name for f in mediation["files"]} == templates


def test_a_change_of_a_data_file_changes_the_configmaps_name_and_so_rolls_the_pods() -> None:
    name = find("prod", "ConfigMap", "county-package")["metadata"]["name"]
    assert name.startswith("county-package-") and len(name) > len("county-package-")
    routing = pod_spec(find("prod", "Deployment", "routing"))
    assert name in {v.get("configMap", {}).get("name") for v in routing["volumes"]}


def test_every_alert_has_a_runbook_entry() -> None:
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    rule = find("prod", "PrometheusRule", "dispatch-alerts")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) >= 9
    for alert in alerts:
        anchor = alert["alert"].lower()
        assert alert["annotations"]["runbook_url"].endswith(f"#{anchor}")
        assert f"### {alert['alert']}" in operations, f"no runbook entry for {alert['alert']}"


def test_the_dashboard_is_a_grafana_configmap_with_a_query_per_panel() -> None:
    import json

    cm = find("prod", "ConfigMap", "dispatch-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["dashboard.json"])
    assert dashboard["panels"] and all(p["targets"] for p in dashboard["panels"])
    assert (DEPLOY / "base" / "monitoring" / "dashboard.json").is_file()
