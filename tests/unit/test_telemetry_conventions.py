"""Logs carry ISO 8601 UTC times; spans carry the resource attributes of the semantic conventions."""

import io
import json
import logging
import re

from dispatch_common.telemetry import ScrubbingJsonFormatter, resource


def test_a_log_line_has_an_iso_8601_utc_time_with_milliseconds() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        ScrubbingJsonFormatter("%(asctime)s %(levelname)s %(message)s", rename_fields={"asctime": "time"})
    )
    log = logging.getLogger("test.iso")
    log.addHandler(handler)
    log.propagate = False
    log.warning("hello")
    line = json.loads(out.getvalue())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line["time"]


def test_the_resource_names_service_namespace_version_instance_and_environment(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=intake-7d9f,k8s.namespace.name=county-a")
    made = resource("intake", version="0.1.0", environment="production", instance="intake-7d9f")
    attributes = made.attributes
    assert attributes["service.name"] == "intake"
    assert attributes["service.namespace"] == "county-dispatch"
    assert attributes["service.version"] == "0.1.0"
    assert attributes["service.instance.id"] == "intake-7d9f"
    assert attributes["deployment.environment.name"] == "production"
    assert attributes["k8s.pod.name"] == "intake-7d9f" and attributes["k8s.namespace.name"] == "county-a"
