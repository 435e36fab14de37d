"""The petitioner's progress page is published on a host of its own with the page and the three public
operations of supervision, and nothing else of the platform (docs/progress.md)."""

import re
from pathlib import Path

import pytest

from tests.deploy_support import OVERLAYS, container, find
from tests.unit.test_deploy_settings import _built, _route

PUBLIC = {"/v1/public/progress", "/v1/public/progress/rating", "/v1/public/progress/review"}


@pytest.mark.parametrize("target", OVERLAYS)
def test_the_progress_host_publishes_the_page_and_the_public_operations_only(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [rule] = find(target, "Ingress", "progress")["spec"]["rules"]
    paths = rule["http"]["paths"]
    for page in ("/progress/", "/progress/progress.js", "/progress/progress.css", *PUBLIC):
        assert _route(paths, page) == "supervision", page
    [dispatch] = find(target, "Ingress", "dispatch")["spec"]["rules"]
    assert rule["host"] != dispatch["host"]
    app = _built(target, "supervision", tmp_path, monkeypatch)
    operations = set(app.openapi()["paths"])
    assert operations >= PUBLIC
    for path in operations - PUBLIC:  # every other operation, and the other services' paths
        assert _route(paths, re.sub(r"\{[^}]+\}", "x", path)) is None, path
    for elsewhere in ("/v1/cases/x", "/supervision/v1/cases/x", "/intake/v1/cases", "/", "/docs", "/metrics"):
        assert _route(paths, elsewhere) is None, elsewhere


@pytest.mark.parametrize("target", OVERLAYS)
def test_supervision_counts_petitioners_behind_the_controller_and_notify_links_the_page(target: str) -> None:
    env = {e["name"]: e.get("value") for e in container(find(target, "Deployment", "supervision"))["env"]}
    assert env["FORWARDED_ALLOW_IPS"]
    notify = {e["name"]: e.get("value") for e in container(find(target, "Deployment", "notify"))["env"]}
    assert notify["PROGRESS_PAGE_URL"].endswith("/progress/")
