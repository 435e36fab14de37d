"""Referrals (转介) to legal aid, counselling, labour arbitration and the court: their lifecycle.

    made -> accepted -> closed
    legal aid:   accepted -> reviewed (eligible: a lawyer is assigned; not eligible: closed)
    counselling: a risk level from the start; a counsellor is assigned; sessions are counted;
                 a crisis (risk to life) alerts supervision and the police station at once

A referral is tracked until the receiving center accepts and closes it. Pure: no I/O.
"""

from dataclasses import dataclass
from typing import Any, Literal

from dispatch_common.auth import Principal
from services.mediation.domain.lifecycle import NotAllowed, NotEntitled, acts_for

RESULTS = {
    "resolved": "已解决",
    "unresolved": "未解决",
    "withdrawn": "当事人撤回",
    "declined": "不予受理",
    "not_eligible": "不符合法律援助条件",
}

Who = Literal["receiving", "receiving_maker_or_dispatch"]


@dataclass(frozen=True)
class Step:
    """One thing a person may do to a referral."""

    name: str
    label: str
    allowed_from: frozenset[str]
    who: Who
    kinds: frozenset[str] | None = None  # None: every kind


STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("accept", "接收", frozenset({"made"}), "receiving"),
        Step("review", "法律援助审查", frozenset({"accepted"}), "receiving", frozenset({"legal_aid"})),
        Step("assign", "指派承办人", frozenset({"accepted"}), "receiving"),
        Step(
            "record_session", "心理疏导记录", frozenset({"accepted"}), "receiving", frozenset({"counselling"})
        ),
        Step(
            "crisis",
            "心理危机预警",
            frozenset({"made", "accepted"}),
            "receiving_maker_or_dispatch",
            frozenset({"counselling"}),
        ),
        Step("close", "办结反馈", frozenset({"accepted"}), "receiving"),
    )
}


def may_see(caller: Principal, doc: dict[str, Any]) -> bool:
    """County-wide roles, the receiving center and the organization that made the referral."""
    if caller.county_wide:
        return True
    units = {doc["receiving_unit"]["code"], (doc.get("made_by") or {}).get("unit")}
    return caller.unit is not None and caller.unit in units


def check(step: Step, doc: dict[str, Any], caller: Principal) -> None:
    """Raise unless the caller may take the step in the referral's kind and state."""
    receiving = doc["receiving_unit"]["code"]
    entitled = not caller.county_wide and caller.unit == receiving
    if step.who == "receiving_maker_or_dispatch":
        maker = (doc.get("made_by") or {}).get("unit")
        entitled = entitled or caller.county_wide or (maker is not None and acts_for(caller, maker))
    if not entitled:
        raise NotEntitled(f"{caller.role.value} {caller.unit or ''} may not {step.name} ({step.label}) here")
    if step.kinds is not None and doc["kind"] not in step.kinds:
        raise NotAllowed(f"{step.name} ({step.label}) is only for {', '.join(sorted(step.kinds))} referrals")
    if doc["status"] not in step.allowed_from:
        allowed = ", ".join(sorted(step.allowed_from))
        raise NotAllowed(
            f"{step.name} ({step.label}) is not allowed in state {doc['status']}; only in {allowed}"
        )
    if step.name == "assign" and doc["kind"] == "legal_aid" and not (doc.get("review") or {}).get("eligible"):
        raise NotAllowed("a legal aid lawyer is assigned after the application passed its review")
    if step.name == "review" and doc.get("review") is not None:
        raise NotAllowed("the application was reviewed already")
