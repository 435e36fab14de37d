"""What supervision's live streams make of each event of a case (dispatch_common/live.py).

The hub reads every platform event; for one about a case it reads the case file once (per replica,
never per connection) and keeps a `CaseChange`: the timeline entry the event makes (from the event
itself, as the case file's projection records it), who may see the case now (its units, its places,
whether it is a confidential report) and, for supervision's own steps on the case, the worklist line
as it now stands. Supervision's own events are published from the case file's outbox after the file
was saved, so the line read is the changed one.

Which units a case left (given to another unit) is remembered per replica from the changes it saw;
a replica that did not see the case before (it started after) tells no `removed` for it.
"""

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch_common.envelope import Envelope
from dispatch_common.live import Event, Item
from dispatch_common.nats_permissions import PRODUCERS
from services.supervision.adapters.repository import CaseFiles, _units, worklist_entry
from services.supervision.domain.policy import to_ms
from services.supervision.handlers import timeline_entry

UNITS_REMEMBERED = 100_000
WORKLIST_EVENTS = frozenset(
    t for t, producer in PRODUCERS.items() if producer == "supervision" and t.startswith("dispatch.case.")
)
"""Supervision's own steps on a case: what changes a worklist line (and is published after it)."""


@dataclass(frozen=True)
class CaseChange:
    """One event of a case as the live streams need it."""

    case_id: str
    entry: dict[str, Any]  # the timeline entry, as GET /v1/cases/{case_id} lists it
    units: dict[str, str]  # unit code -> "lead" or "assist", now
    left: frozenset[str]  # units the case was on before this change and is not now
    areas: frozenset[str]
    confidential: bool
    line: dict[str, Any] | None  # the worklist line now, for supervision's own steps on the case


def line_of(doc: dict[str, Any], event_type: str, at: datetime) -> dict[str, Any]:
    """The worklist line a stream sends: the worklist's own line of the case, with its units and grid."""
    base = worklist_entry(doc, "", "")
    jurisdiction = doc.get("jurisdiction") or {}
    lead = doc.get("lead_unit")
    due_ts = base["due_ts"]
    return {
        "case_id": base["case_id"],
        "case_no": base["case_no"],
        "status": base["status"],
        "open": base["open"],
        "event": event_type,
        "at": at,
        "lead_unit": {"code": lead["code"], "name": lead.get("name")} if lead else None,
        "assisting_units": [u["code"] for u in doc.get("assisting_units") or []],
        "town": base["town"],
        "village": base["village"],
        "grid": jurisdiction.get("grid"),
        "category": base["category"],
        "subcategory": base["subcategory"],
        "tier": base["tier"],
        "due_kind": base["due_kind"],
        "due_at": base["due_at"],
        "overdue": due_ts is not None and due_ts < (to_ms(at) or 0),
        "confidential": base["confidential"],
    }


class LiveCases:
    """Supervision's `prepare` for its hub, with the units each case was last seen on."""

    def __init__(self, files: CaseFiles) -> None:
        self.files = files
        self._seen: OrderedDict[str, frozenset[str]] = OrderedDict()

    def _remember(self, case_id: str, units: frozenset[str]) -> frozenset[str]:
        before = self._seen.pop(case_id, frozenset())
        self._seen[case_id] = units
        while len(self._seen) > UNITS_REMEMBERED:
            self._seen.popitem(last=False)
        return before - units

    async def prepare(self, events: list[Event]) -> list[CaseChange | None]:
        """What the streams need of each event (None for one about no case): the case files of the
        batch read in one query."""
        envelopes = [_envelope(event) for _, event in events]
        files = await self.files.get_many(list({e.subject for e in envelopes if e and e.subject}))
        return [
            self._change(seq, e, files.get(e.subject)) if e and e.subject else None
            for (seq, _), e in zip(events, envelopes, strict=True)
        ]

    def _change(self, seq: int, envelope: Envelope, doc: dict[str, Any] | None) -> CaseChange:
        case_id = envelope.subject or ""
        entry = _shown(timeline_entry(envelope, seq=seq))
        if doc is None:  # before the case file: only what the event says (a confidential one to nobody)
            return CaseChange(case_id, entry, {}, frozenset(), frozenset(), True, None)
        units = _units(doc)
        line = line_of(doc, envelope.type, envelope.time) if envelope.type in WORKLIST_EVENTS else None
        return CaseChange(
            case_id=case_id,
            entry=entry,
            units=units,
            left=self._remember(case_id, frozenset(units)) if line else frozenset(),
            areas=areas_of(doc),
            confidential=bool(doc.get("confidential")),
            line=line,
        )


def _envelope(event: dict[str, Any]) -> Envelope | None:
    """A platform event about a case, or None."""
    if not str(event.get("type", "")).startswith("dispatch.") or not event.get("subject"):
        return None
    try:
        return Envelope.model_validate(event)
    except ValueError:
        return None


def areas_of(doc: dict[str, Any]) -> frozenset[str]:
    """The town, village and grid a case lies in (who serves them may see it, by their scope)."""
    jurisdiction = doc.get("jurisdiction") or {}
    return frozenset(v for k, v in jurisdiction.items() if k in ("town", "village", "grid") and v)


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry as the case file shows it."""
    return {
        "case_id": entry["case_id"],
        "event_id": entry["_id"],
        "type": entry["type"],
        "source": entry["source"],
        "time": entry["time"],
        "summary": entry.get("summary") or {},
    }


def change(item: Item) -> CaseChange:
    """The case change an item of supervision's hub carries."""
    value: CaseChange = item.value
    return value
