"""The CloudEvents 1.0 envelope every event travels in, and how event ids are made."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from dispatch_common.clock import Clock, SystemClock

SPEC_VERSION = "1.0"
# Ids of events derived from other events are name-based, so a re-run handler emits the same ids.
_DERIVED_NAMESPACE = uuid.UUID("6f1f8c2e-0d6c-4c5e-9a3b-3c1d2b8e7a10")


class Envelope(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode; `type` is also the NATS subject, unless the
    event is `Addressed` to another one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: str = SPEC_VERSION
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(min_length=1, max_length=128)
    time: datetime
    subject: str | None = Field(default=None, max_length=128)
    datacontenttype: str = "application/json"
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        """Serialize for the wire."""
        return json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False).encode()

    def to_document(self) -> dict[str, Any]:
        """A JSON-safe dict, as stored in an outbox."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class Addressed:
    """An event published on a subject other than its type: an answer in an external system's own
    subtree (outcome.<system>.case.accepted for the type ingress.case.accepted)."""

    event: Envelope
    subject: str


Outgoing = Envelope | Addressed
"""What an aggregate may owe: an event on its type's subject, or one addressed elsewhere."""


def new_event_id() -> str:
    """A fresh random event id."""
    return str(uuid.uuid4())


def derived_event_id(*parts: str) -> str:
    """A deterministic event id for an event caused by another (same cause, same id)."""
    return str(uuid.uuid5(_DERIVED_NAMESPACE, "|".join(parts)))


def make_event(
    *,
    type: str,
    source: str,
    subject: str | None,
    data: BaseModel | dict[str, Any],
    event_id: str | None = None,
    clock: Clock | None = None,
) -> Envelope:
    """Wrap event data in an envelope; data models and dicts alike become JSON values (ISO times)."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else to_jsonable_python(data)
    return Envelope(
        id=event_id or new_event_id(),
        source=source,
        type=type,
        time=(clock or SystemClock()).now(),
        subject=subject,
        data=payload,
    )
