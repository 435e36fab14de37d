"""The permission table agrees with the contract and with the consumers the services register, and
each identity's permissions name only what is its own."""

import importlib
import json
import re
from pathlib import Path

import pytest

from dispatch_common import subjects
from dispatch_common.contracts import SCHEMA_DIR
from dispatch_common.nats_permissions import (
    LIVE_READERS,
    OUTCOME_PRODUCER,
    OUTCOME_TYPES,
    PRODUCERS,
    SERVICES,
    consumers_of,
    service_permissions,
    system_permissions,
)
from dispatch_common.systems import load_systems

SYSTEMS = load_systems()


def _stated_producer(event_type: str) -> str:
    schema = json.loads((SCHEMA_DIR / "events" / f"{event_type}.json").read_text(encoding="utf-8"))
    found = re.search(r"Producer: (\w+)", schema["description"])
    assert found, f"{event_type}: the schema names no producer"
    return found.group(1)


@pytest.mark.parametrize("event_type", subjects.ALL_EVENT_TYPES)
def test_every_event_type_is_published_by_the_service_its_schema_names(event_type: str) -> None:
    stated = _stated_producer(event_type)
    if event_type == subjects.INGRESS_CASE_SUBMIT:
        assert stated == "external" and event_type not in PRODUCERS
    elif event_type in OUTCOME_TYPES:
        assert stated == OUTCOME_PRODUCER and event_type not in PRODUCERS
    else:
        assert PRODUCERS[event_type] == stated


@pytest.mark.parametrize("service", SERVICES)
def test_the_consumers_a_service_registers_are_the_tables(service: str, tmp_path: Path) -> None:
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    config = importlib.import_module(f"services.{service}.config")
    [settings_class] = [
        c for name, c in vars(config).items() if name.endswith("Settings") and c.__module__ == config.__name__
    ]
    built = bootstrap.build(settings_class(environment="test", run_dir=tmp_path))
    registered = built.runtime.bus.consumers
    assert len(set(registered)) == len(registered)
    assert set(registered) == set(consumers_of(service, SYSTEMS))


def test_a_service_may_publish_exactly_the_types_it_produces() -> None:
    for service in SERVICES:
        publish = set(service_permissions(service, SYSTEMS).publish)
        events = {p for p in publish if p.startswith("dispatch.")}
        assert events == {t for t, producer in PRODUCERS.items() if producer == service}, service
        assert not any(p.startswith("ingress.") for p in publish)
        assert {p for p in publish if p.startswith("dlq.")} == {
            subjects.dead_letter_subject(c.durable) for c in consumers_of(service, SYSTEMS)
        }
        # its own inbox, and its own control subject: a reload reaches every replica of the service
        reload = subjects.reload_subject(service)
        assert service_permissions(service, SYSTEMS).subscribe == (f"_INBOX_{service}.>", reload)
        assert {p for p in publish if p.startswith("control.")} == {reload}
        assert not [
            p
            for p in publish
            if ">" in p
            and not p.startswith(("$JS.ACK.", "$JS.API.CONSUMER.CREATE.", f"_INBOX_{service}.", "$JS.FC."))
        ]
    intake = set(service_permissions("intake", SYSTEMS).publish)
    answers = {p for p in intake if p.startswith("outcome.")}
    feeds = [s.id for s in SYSTEMS] + [subjects.open311_feed("*")]
    assert answers == {subjects.outcome_subject(f, t) for f in feeds for t in OUTCOME_TYPES}
    notify = set(service_permissions("notify", SYSTEMS).publish)
    assert not any(p.startswith("outcome.") for p in notify)  # notify reads the feeds, never writes them


def test_a_system_may_publish_in_its_subtree_and_read_and_replay_its_own_outcome_stream_only() -> None:
    grid = next(s for s in SYSTEMS if s.id == "grid-app")
    permissions = system_permissions(grid)
    stream, durable = "OUTCOMES_GRID_APP", "outcome-grid-app"
    api = "$JS.API."
    assert set(permissions.publish) == {
        "ingress.grid-app.>",
        f"{api}CONSUMER.INFO.{stream}.{durable}",
        f"{api}CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        # replay: consumers of its own stream, which holds only its own outcomes
        f"{api}STREAM.INFO.{stream}",
        f"{api}CONSUMER.CREATE.{stream}",
        f"{api}CONSUMER.CREATE.{stream}.*",
        f"{api}CONSUMER.CREATE.{stream}.*.>",
        f"{api}CONSUMER.DURABLE.CREATE.{stream}.*",
        f"{api}CONSUMER.INFO.{stream}.*",
        f"{api}CONSUMER.MSG.NEXT.{stream}.*",
        f"{api}CONSUMER.DELETE.{stream}.*",
        f"$JS.ACK.{stream}.*.>",
    }
    assert all(stream in p or p == "ingress.grid-app.>" for p in permissions.publish)
    # ... except the consumer notify delivers its webhooks from
    assert f"{api}CONSUMER.MSG.NEXT.{stream}.notify-feed" in permissions.deny_publish
    assert f"{api}CONSUMER.CREATE.{stream}.notify-feed.>" in permissions.deny_publish
    assert f"{api}CONSUMER.DELETE.{stream}.notify-feed" in permissions.deny_publish
    assert permissions.to_config()["publish"]["deny"] == list(permissions.deny_publish)
    assert permissions.subscribe == ("_INBOX_grid-app.>",)


def test_a_service_outside_the_platform_has_no_permissions() -> None:
    with pytest.raises(ValueError, match="no service"):
        service_permissions("ops")


def test_only_the_services_with_live_streams_read_dispatch_through_ephemeral_consumers() -> None:
    ephemeral = f"$JS.API.CONSUMER.CREATE.{subjects.DISPATCH_STREAM}"
    flow_control = f"$JS.FC.{subjects.DISPATCH_STREAM}.>"
    for service in SERVICES:
        publish = set(service_permissions(service, SYSTEMS).publish)
        live = service in LIVE_READERS
        assert (ephemeral in publish) is live, service
        assert (flow_control in publish) is live, service
        # no wildcard over the names of DISPATCH's consumers: the durable ones stay each their service's
        assert f"$JS.API.CONSUMER.CREATE.{subjects.DISPATCH_STREAM}.*" not in publish
        assert not any(p.startswith("$JS.API.CONSUMER.DELETE.") for p in publish), service
