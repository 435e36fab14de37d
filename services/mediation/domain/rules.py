"""The reference data every mediation command reads, and the alarms a mediation owes. Pure."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dispatch_common.crypto import PiiKeys
from dispatch_common.workdays import WorkingCalendar
from services.mediation.domain.documents import Documents
from services.mediation.domain.lifecycle import OPEN
from services.mediation.domain.organizations import Directory
from services.mediation.domain.policy import MediationPolicy


@dataclass
class Rules:
    """Organizations, policy, document templates, the working calendar, the county's time zone, and
    the key that protects the parties' names."""

    directory: Directory
    policy: MediationPolicy
    documents: Documents
    calendar: WorkingCalendar
    timezone: ZoneInfo
    county_name: str
    keys: PiiKeys

    def chain(self, jurisdiction: dict[str, Any]) -> list[str]:
        """The areas containing a place, smallest first."""
        return self.directory.chain(village=jurisdiction.get("village"), town=jurisdiction.get("town"))

    def police_station(self, jurisdiction: dict[str, Any], types: list[str]) -> dict[str, str] | None:
        """The police unit of the jurisdiction (the town's station before the county bureau)."""
        units = self.directory.units_of_types(types, self.chain(jurisdiction))
        return {k: units[0][k] for k in ("code", "name", "type")} if units else None


@dataclass(frozen=True)
class Alarm:
    """A time-limit or fulfilment alarm of one mediation; `key` makes it act once."""

    kind: Literal["time_limit", "fulfilment"]
    due_at: datetime

    @property
    def key(self) -> str:
        """The alarm's key, stored with the mediation once it has acted."""
        return f"{self.kind}:{int(self.due_at.timestamp())}"


def pending_alarms(doc: dict[str, Any]) -> list[Alarm]:
    """The alarms a mediation owes and has not acted on: an open mediation its time limit, an
    agreement its fulfilment check."""
    candidates = []
    if doc["status"] in OPEN and doc.get("due_at") is not None:
        candidates.append(Alarm("time_limit", doc["due_at"]))
    agreement = doc.get("agreement") or {}
    if doc["status"] == "agreed" and agreement.get("check_at") is not None:
        candidates.append(Alarm("fulfilment", agreement["check_at"]))
    fired = set(doc.get("alarms_fired") or [])
    return [a for a in candidates if a.key not in fired]


def due_alarms(doc: dict[str, Any], now: datetime) -> list[Alarm]:
    """The alarms of a mediation due now."""
    return [a for a in pending_alarms(doc) if a.due_at <= now]


def to_ms(moment: datetime | None) -> int | None:
    """A moment as integer milliseconds since the epoch (what range queries use, docs/decisions/0006)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def derived_fields(state: dict[str, Any]) -> dict[str, Any]:
    """The fields kept for queries, recomputed at every write: whether the mediation is open and for
    which organization (the mediators' load), its next alarm, when it opened (an organization's list)
    and when it concluded."""
    pending = [a.due_at for a in pending_alarms(state)]
    is_open = state["status"] in OPEN
    return {
        "open": is_open,
        "open_org": state["organization"]["code"] if is_open else None,
        "next_alarm_ts": to_ms(min(pending)) if pending else None,
        "opened_ts": to_ms(state.get("opened_at")),
        "concluded_ts": to_ms(state.get("concluded_at")),
    }
