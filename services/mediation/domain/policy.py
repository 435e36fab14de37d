"""Mediation's policy table (data/mediation/policy.json): time limits, the start of the choice of an
organization, consent, fulfilment checks, escalation, referral tracks, legal aid eligibility and
counselling risk levels. Pure: the table in, limits and decisions out.
"""

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatch_common.workdays import WorkingCalendar

MEDIATION_TYPES = ("people", "court", "police", "professional", "petition")
MediationType = Literal["people", "court", "police", "professional", "petition"]
REFERRAL_KINDS = ("legal_aid", "counselling", "arbitration", "court")
ReferralKind = Literal["legal_aid", "counselling", "arbitration", "court"]
Level = Literal["village", "town", "county"]


class PolicyError(ValueError):
    """A policy table that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the mediation policy:\n  " + "\n  ".join(problems)
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeLimit(_Strict):
    """How long a mediation of one type may run (调解期限)."""

    days: int = Field(ge=1, le=365)
    calendar: Literal["natural", "working"] = "natural"
    label: str
    basis: str

    def due(self, start: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
        """When the limit counted from `start` ends."""
        if self.calendar == "working":
            return calendar.limit(start, self.days, tz)
        return start + timedelta(days=self.days)


class Choice(_Strict):
    """Where the search for an organization starts (小事不出村, 大事不出镇)."""

    start_level_by_tier: dict[str, Level] = Field(default_factory=dict)
    start_level_by_flag: dict[str, Level] = Field(default_factory=dict)
    professional_first: bool = True


class Consent(_Strict):
    """The party roles whose consent a mediation needs (mediation is voluntary)."""

    roles: list[str] = Field(min_length=1)


class Fulfilment(_Strict):
    """When an agreement's fulfilment is checked: the end of its fulfilment date plus grace days."""

    grace_days: int = Field(0, ge=0, le=365)
    label: str = "调解协议履行回访"


class Escalation(_Strict):
    """When a dispute has grown: people involved, threats; who is brought in."""

    people_count: int = Field(5, ge=2)
    police_unit_types: list[str] = Field(min_length=1)
    description: str | None = None


class ReferralTrack(_Strict):
    """A referral track and the unit types that receive it."""

    label: str
    unit_types: list[str] = Field(min_length=1)


class MatterType(_Strict):
    """A legal aid matter (法律援助事项) and whether it waives the economic hardship condition."""

    label: str
    hardship_exempt: bool = False


class LegalAid(_Strict):
    """The legal aid eligibility checklist."""

    basis: str
    matter_types: dict[str, MatterType] = Field(min_length=1)


class Counselling(_Strict):
    """Counselling risk levels, the one that is a crisis, and who hears of a crisis."""

    risk_levels: dict[str, str] = Field(min_length=1)
    crisis_level: str
    police_unit_types: list[str] = Field(min_length=1)


class MediationPolicy(_Strict):
    """The whole table."""

    version: str
    description: str | None = None
    time_limits: dict[str, TimeLimit]
    choice: Choice = Choice()
    consent: Consent
    fulfilment: Fulfilment = Fulfilment()
    escalation: Escalation
    referrals: dict[ReferralKind, ReferralTrack]
    referrals_from_flags: dict[str, ReferralKind] = Field(default_factory=dict)
    legal_aid: LegalAid
    counselling: Counselling

    @classmethod
    def load(cls, path: Path | str) -> "MediationPolicy":
        """Read and check the table; raise PolicyError listing every problem."""
        try:
            raw: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
            policy = cls.model_validate(raw)
        except (OSError, json.JSONDecodeError) as exc:
            raise PolicyError([f"{path}: {exc}"]) from exc
        except ValidationError as exc:
            raise PolicyError(
                [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            ) from exc
        problems = policy.problems()
        if problems:
            raise PolicyError(problems)
        return policy

    def problems(self) -> list[str]:
        """What is inconsistent inside the table."""
        problems = []
        if "default" not in self.time_limits:
            problems.append("time_limits: a 'default' limit is required")
        for kind in self.time_limits:
            if kind != "default" and kind not in MEDIATION_TYPES:
                problems.append(f"time_limits.{kind}: not a mediation type ({', '.join(MEDIATION_TYPES)})")
        missing = [k for k in REFERRAL_KINDS if k not in self.referrals]
        if missing:
            problems.append(f"referrals: missing tracks {missing}")
        if self.counselling.crisis_level not in self.counselling.risk_levels:
            problems.append(
                f"counselling.crisis_level: {self.counselling.crisis_level!r} is not a risk level"
            )
        return problems

    def time_limit(self, mediation_type: str) -> TimeLimit:
        """The time limit of a mediation type."""
        return self.time_limits.get(mediation_type) or self.time_limits["default"]

    def fulfilment_check_at(self, due: date, tz: ZoneInfo) -> datetime:
        """When an agreement due on `due` (a local date) is checked: 24:00 of that day, plus grace."""
        return datetime.combine(due + timedelta(days=1 + self.fulfilment.grace_days), time(0), tzinfo=tz)

    def start_level(self, tier: str | None, flags: list[str]) -> Level:
        """The level of the first organization to try: the village unless a flag or tier says higher."""
        levels: list[Level] = ["village"]
        if tier and tier in self.choice.start_level_by_tier:
            levels.append(self.choice.start_level_by_tier[tier])
        levels += [self.choice.start_level_by_flag[f] for f in flags if f in self.choice.start_level_by_flag]
        order: list[Level] = ["village", "town", "county"]
        return max(levels, key=order.index)

    def legal_aid_eligibility(self, matter_type: str, economic_hardship: bool) -> tuple[bool, list[str]]:
        """Whether a legal aid application passes the checklist, and why not."""
        matter = self.legal_aid.matter_types.get(matter_type)
        if matter is None:
            return False, [f"matter type {matter_type!r} is not a legal aid matter"]
        if not economic_hardship and not matter.hardship_exempt:
            return False, [f"{matter.label}: legal aid needs economic hardship (经济困难) for this matter"]
        return True, []
