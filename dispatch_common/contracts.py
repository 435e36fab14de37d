"""Validation of events against the JSON Schemas in proto/, the single source of the contract."""

import json
from functools import cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from dispatch_common.paths import PROTO_DIR

SCHEMA_DIR = PROTO_DIR / "schemas"

# Part of the contract of dispatch.case.screened: the status a case shows after each screening
# outcome (proto/schemas/common.json#/$defs/screening_outcome), the same in intake and supervision.
SCREENING_STATUS = {
    "accepted": "accepted",
    "not_accepted": "not_accepted",
    "legal_redirect": "redirected",
    "transferred": "transferred",
    "emergency_transfer": "transferred",
    "answered": "answered",
    "manual": "screening",
}


class ContractError(ValueError):
    """An event does not satisfy its schema; the message lists every violation with its path."""


def _format(errors: list[Any]) -> str:
    parts = []
    for err in sorted(errors, key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path) or "(root)"
        parts.append(f"{path}: {err.message}")
    return "; ".join(parts)


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    """Every schema of proto/, by its path below SCHEMA_DIR."""
    return {
        path.relative_to(SCHEMA_DIR).as_posix(): json.loads(path.read_text())
        for path in SCHEMA_DIR.rglob("*.json")
    }


@cache
def _registry() -> Registry:
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in _schemas().values()
    )


@cache
def _validator(relative: str) -> Draft202012Validator:
    schema = _schemas()[relative]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _fast_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(schema["$id"], schema) for schema in _schemas().values()])


@cache
def _fast_validator(relative: str) -> jsonschema_rs.Validator:
    """A compiled (Rust) validator: about a hundred times faster, used to pass valid events quickly."""
    return jsonschema_rs.validator_for(_schemas()[relative], registry=_fast_registry(), validate_formats=True)


@cache
def _event_types() -> frozenset[str]:
    return frozenset(known_event_types())


def known_event_types() -> list[str]:
    """Every event type that has a schema in proto/."""
    return sorted(p.name.removesuffix(".json") for p in (SCHEMA_DIR / "events").glob("*.json"))


def validate_event(event: dict[str, Any]) -> None:
    """Check an envelope and its data against proto/; raise ContractError with every violation.

    The compiled validator passes a valid event in microseconds (every stored and every consumed
    event is checked); an event it doubts is checked again by `jsonschema`, which names each
    violation and has the last word.
    """
    known = _fast_validator("envelope.json").is_valid(event) and event["type"] in _event_types()
    if known and _fast_validator(f"events/{event['type']}.json").is_valid(event.get("data")):
        return
    validate_envelope(event)
    event_type = event["type"]
    if event_type not in _event_types():
        raise ContractError(f"type: no schema in proto/ for event type {event_type!r}")
    if "data" not in event:
        raise ContractError(f"data: an event of type {event_type} carries data")
    errors = list(_validator(f"events/{event_type}.json").iter_errors(event["data"]))
    if errors:
        raise ContractError(f"data of {event_type}: {_format(errors)}")


def validate_envelope(event: dict[str, Any]) -> None:
    """Check only the CloudEvents envelope against proto/ (an ingress reads the type and data itself,
    to answer a system with every reason); raise ContractError with every violation."""
    if _fast_validator("envelope.json").is_valid(event):
        return
    errors = list(_validator("envelope.json").iter_errors(event))
    if errors:
        raise ContractError(f"envelope: {_format(errors)}")


def contract_limits() -> dict[str, Any]:
    """What proto/ requires of county data that travels in events: area and category code
    patterns and the routing tiers. A county package is checked against these when it loads."""
    common = _schemas()["common.json"]["$defs"]
    category = common["category"]["properties"]
    routed = _schemas()["events/dispatch.case.routed.json"]["properties"]
    return {
        "area_code": common["area_code"]["pattern"],
        "category_code": category["code"]["pattern"],
        "subcategory_code": category["subcode"]["pattern"],
        "tiers": list(routed["tier"]["enum"]),
    }
