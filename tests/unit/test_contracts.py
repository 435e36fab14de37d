"""The event contract: envelope, schemas in proto/, ids."""

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from devtools import asyncapi
from dispatch_common import subjects
from dispatch_common.contracts import (
    SCHEMA_DIR,
    SCREENING_STATUS,
    ContractError,
    known_event_types,
    validate_event,
)
from dispatch_common.envelope import derived_event_id, make_event
from dispatch_common.paths import PROTO_DIR


def test_every_schema_in_proto_is_a_valid_json_schema():
    for path in SCHEMA_DIR.rglob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_every_event_type_the_code_names_has_a_schema():
    assert set(subjects.ALL_EVENT_TYPES) <= set(known_event_types())


def test_the_asyncapi_document_lists_every_event_type_and_is_up_to_date():
    text = (PROTO_DIR / "asyncapi.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    titles = {channel["title"] for channel in document["channels"].values()}
    assert titles == set(known_event_types())
    addresses = {channel["title"]: channel["address"] for channel in document["channels"].values()}
    assert addresses[subjects.CASE_ROUTED] == subjects.CASE_ROUTED  # a platform event: its type
    # an external system's: in its own subtree, the type staying the contract's
    assert addresses[subjects.INGRESS_CASE_SUBMIT] == "ingress.{system}.case.submit"
    assert addresses[subjects.INGRESS_CASE_ACCEPTED] == "outcome.{system}.case.accepted"
    assert text == asyncapi.render(), "proto/asyncapi.yaml is stale: run `make asyncapi`"


def test_a_valid_event_passes_and_each_violation_is_named_with_its_path():
    event = make_event(
        type=subjects.NOTIFICATION_SENT,
        source="/dispatch/notify",
        subject="c1",
        data={
            "notification_id": "n1",
            "case_id": "c1",
            "kind": "acceptance",
            "channel": "inbox",
            "recipient": "petitioner",
            "sent_at": "2026-11-23T01:00:00Z",
        },
    )
    validate_event(event.to_document())
    broken = event.to_document() | {"data": {**event.data, "channel": "pigeon", "extra": 1}}
    with pytest.raises(ContractError) as err:
        validate_event(broken)
    assert "channel" in str(err.value) and "extra" in str(err.value)


def test_an_unknown_type_or_a_bad_envelope_is_refused():
    event = make_event(type="dispatch.case.teleported", source="/dispatch/intake", subject="c", data={})
    with pytest.raises(ContractError, match="no schema"):
        validate_event(event.to_document())
    with pytest.raises(ContractError, match="envelope"):
        validate_event({"id": "x"})


def test_derived_ids_are_the_same_for_the_same_cause_and_differ_otherwise():
    assert derived_event_id("c", "e1", "t") == derived_event_id("c", "e1", "t")
    assert derived_event_id("c", "e1", "t") != derived_event_id("c", "e2", "t")


def test_every_screening_outcome_of_the_contract_has_a_case_status():
    common = json.loads((SCHEMA_DIR / "common.json").read_text())
    outcomes = set(common["$defs"]["screening_outcome"]["enum"])
    assert set(SCREENING_STATUS) == outcomes
