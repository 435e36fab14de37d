"""Deadline policy tables: which time limits a case gets, from which moment, met by which moment,
and the alarms (warning, overdue, the escalation ladder 三函一约谈) each one raises.

Everything here is pure: the case's moments and facts in, deadlines and due alarms out. The table is
data (data/policy/deadlines.json); working days come from the holiday calendar.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch_common.workdays import WorkingCalendar

Moment = Literal[
    "received",
    "screened",
    "assigned",
    "signed",
    "replied",
    "followed_up",
    "review_requested",
    "review_answered",
    "re_review_requested",
    "re_review_answered",
]
MOMENTS: tuple[str, ...] = get_args(Moment)
"""Moments on a case file that deadlines count from and are met by (`<moment>_at` fields)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Span(_Strict):
    """A length of time: days (natural or working) or hours."""

    days: int | None = Field(None, ge=0)
    hours: int | None = Field(None, ge=0)
    calendar: Literal["natural", "working"] = "natural"

    @model_validator(mode="after")
    def _one_length(self) -> "_Span":
        if (self.days is None) == (self.hours is None):
            raise ValueError("give either days or hours")
        if self.hours is not None and self.calendar == "working":
            raise ValueError("hours count on the natural calendar")
        return self

    def due(self, start: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
        """When a span from `start` ends."""
        if self.hours is not None:
            return start + timedelta(hours=self.hours)
        assert self.days is not None
        if self.calendar == "working":
            return calendar.limit(start, self.days, tz)
        return start + timedelta(days=self.days)


class DeadlineRule(_Span):
    """One time limit of the table."""

    kind: str
    label: str
    anchor: Moment = Field(alias="from")
    met_by: Moment
    alarm: bool = True
    escalate: bool = False
    extendable: bool = False
    basis: str


class ResponseTier(_Span):
    """A 12345 response tier; the first whose condition holds applies (no condition: always)."""

    name: str
    label: str
    flags: list[str] = Field(default_factory=list)
    route_tiers: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)

    def applies(self, facts: "CaseFacts") -> bool:
        if not (self.flags or self.route_tiers or self.categories):
            return True
        return bool(
            set(self.flags) & set(facts.flags)
            or (facts.route_tier in self.route_tiers)
            or set(self.categories) & set(facts.categories)
        )


class HotlineTiers(_Strict):
    """Response tiers replacing a deadline (handling) for cases of some channels."""

    description: str | None = None
    channels: list[str]
    replaces: str
    tiers: list[ResponseTier]


class ExtensionRule(_Strict):
    """How long and how often a deadline may be extended (延期)."""

    max_days: int = Field(30, ge=1)
    times: int = Field(1, ge=0)


class FollowupRule(_Strict):
    """What a 不满意 rating at the follow-up call (回访) does: `on_request` reopens the case for its
    unit only when the petitioner asks for the matter to be handled again (otherwise the rating is
    recorded and the petitioner may ask for a review, 复查); `reopen` always reopens it."""

    description: str | None = None
    dissatisfied: Literal["reopen", "on_request"] = "on_request"


class WarningRule(_Strict):
    """Warn before a deadline by the smaller of `days_before` and `fraction` of the whole limit."""

    description: str | None = None
    days_before: float = Field(3, ge=0)
    fraction: float = Field(0.2, ge=0, le=1)


class EscalationStep(_Strict):
    """One rung of the ladder after a deadline passed (三函一约谈)."""

    level: str
    label: str
    after_hours: int = Field(ge=0)


@dataclass(frozen=True)
class CaseFacts:
    """What the policy needs to know of a case."""

    moments: dict[str, datetime]
    channel: str | None = None
    route_tier: str | None = None
    flags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    extensions: dict[str, int] = field(default_factory=dict)  # kind -> approved extra days


@dataclass(frozen=True)
class Alarm:
    """An action a deadline owes at a moment: a warning, overdue, or an escalation step."""

    key: str  # unique per deadline, due time and action: an alarm acts once
    kind: str
    action: Literal["warning", "overdue", "escalation"]
    at: datetime
    due_at: datetime
    level: str | None = None
    label: str | None = None


class DeadlinePolicy(_Strict):
    """A versioned table of time limits and of the alarms they raise."""

    version: str
    source: str | None = None
    deadlines: list[DeadlineRule]
    hotline_response_tiers: HotlineTiers | None = None
    extension: ExtensionRule = Field(default_factory=ExtensionRule)
    followup: FollowupRule = Field(default_factory=FollowupRule)
    warning: WarningRule = Field(default_factory=WarningRule)
    escalation: list[EscalationStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_kinds(self) -> "DeadlinePolicy":
        kinds = [d.kind for d in self.deadlines]
        if len(kinds) != len(set(kinds)):
            raise ValueError(f"deadline kinds must be unique: {kinds}")
        if self.hotline_response_tiers and self.hotline_response_tiers.replaces not in kinds:
            raise ValueError(
                f"hotline_response_tiers replaces unknown kind {self.hotline_response_tiers.replaces}"
            )
        return self

    @classmethod
    def load(cls, path: Path) -> "DeadlinePolicy":
        """Read a policy table from JSON."""
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    def rule(self, kind: str) -> DeadlineRule | None:
        """The rule of a deadline kind."""
        return next((d for d in self.deadlines if d.kind == kind), None)

    def _span_of(self, rule: DeadlineRule, facts: CaseFacts) -> tuple[_Span, str | None, str]:
        hotline = self.hotline_response_tiers
        if hotline and rule.kind == hotline.replaces and facts.channel in hotline.channels:
            for tier in hotline.tiers:
                if tier.applies(facts):
                    return tier, tier.name, f"12345 response tier {tier.name} ({tier.label})"
        return rule, None, rule.basis

    def deadlines_for(
        self, facts: CaseFacts, calendar: WorkingCalendar, tz: ZoneInfo
    ) -> list[dict[str, Any]]:
        """Every deadline whose starting moment is known, with its due time and whether it was met."""
        out: list[dict[str, Any]] = []
        for rule in self.deadlines:
            start = facts.moments.get(rule.anchor)
            if start is None:
                continue
            span, tier, basis = self._span_of(rule, facts)
            due = span.due(start, calendar, tz)
            extra = facts.extensions.get(rule.kind, 0)
            if extra:
                due += timedelta(days=extra)
            met = facts.moments.get(rule.met_by)
            out.append(
                {
                    "kind": rule.kind,
                    "label": rule.label,
                    "start_at": start,
                    "due_at": due,
                    "met_at": met if met is not None and met >= start else None,
                    "extended_days": extra,
                    "response_tier": tier,
                    "alarm": rule.alarm,
                    "escalate": rule.escalate,
                    "basis": basis,
                }
            )
        return out

    def alarms(self, deadline: dict[str, Any]) -> list[Alarm]:
        """Every alarm a deadline owes while it is not met, in time order."""
        if not deadline["alarm"] or deadline.get("met_at") is not None:
            return []
        kind, start, due = deadline["kind"], deadline["start_at"], deadline["due_at"]
        stamp = round(due.timestamp())
        lead = min(timedelta(days=self.warning.days_before), (due - start) * self.warning.fraction)
        out = []
        if lead > timedelta(0):
            out.append(Alarm(f"{kind}:{stamp}:warning", kind, "warning", due - lead, due))
        out.append(Alarm(f"{kind}:{stamp}:overdue", kind, "overdue", due, due))
        if deadline.get("escalate"):
            for step in self.escalation:
                out.append(
                    Alarm(
                        f"{kind}:{stamp}:{step.level}",
                        kind,
                        "escalation",
                        due + timedelta(hours=step.after_hours),
                        due,
                        step.level,
                        step.label,
                    )
                )
        return out

    def due_alarms(self, deadlines: list[dict[str, Any]], fired: set[str], now: datetime) -> list[Alarm]:
        """Alarms whose time has come and that have not acted yet; a late scan acts on all of them."""
        return [a for d in deadlines for a in self.alarms(d) if a.at <= now and a.key not in fired]

    def next_alarm(self, deadlines: list[dict[str, Any]], fired: set[str]) -> datetime | None:
        """When the next alarm of these deadlines is due (None: nothing left to watch)."""
        pending = [a.at for d in deadlines for a in self.alarms(d) if a.key not in fired]
        return min(pending) if pending else None


def to_ms(moment: datetime | None) -> int | None:
    """Integer milliseconds since the epoch: the queried form of a time (docs/decisions/0006)."""
    return None if moment is None else round(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Timekeeper:
    """The policy table with the county's calendar: a case file's deadlines and its next alarm."""

    policy: DeadlinePolicy
    calendar: WorkingCalendar
    timezone: ZoneInfo

    @staticmethod
    def facts(state: dict[str, Any]) -> CaseFacts:
        """What the policy needs of a case file."""
        category = state.get("category") or {}
        return CaseFacts(
            moments={m: state[f"{m}_at"] for m in MOMENTS if state.get(f"{m}_at") is not None},
            channel=state.get("channel"),
            route_tier=state.get("tier"),
            flags=tuple(state.get("flags") or ()),
            categories=tuple(c for c in (category.get("code"), category.get("subcode")) if c),
            extensions=dict(state.get("extensions") or {}),
        )

    def refresh(self, state: dict[str, Any]) -> dict[str, Any]:
        """The deadlines of a case file in this state, and when the scanner must look at it next.

        Besides the table's limits, a case carries the limits other services set on it (a people's
        mediation's time limit, a leader's time limit), kept under `external_deadlines`; one that
        names the moment that meets it (`met_by`) is met when the file reaches that moment.
        """
        deadlines = self.policy.deadlines_for(self.facts(state), self.calendar, self.timezone)
        deadlines += [_met(d, state) for d in state.get("external_deadlines") or []]
        fired = set(state.get("alarms_fired") or [])
        return {"deadlines": deadlines, "next_alarm_ts": to_ms(self.policy.next_alarm(deadlines, fired))}


def _met(deadline: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """An external deadline, met when the case file reached the moment it names since it started."""
    moment = state.get(f"{deadline.get('met_by')}_at") if deadline.get("met_by") else None
    if deadline.get("met_at") is None and moment is not None and moment >= deadline["start_at"]:
        return {**deadline, "met_at": moment}
    return deadline
