"""The case lifecycle after routing (办理与督办): which action is allowed in which state, by whom.

    assigned -> signed -> in_progress -> replied -> followed_up -> closed
                   \\-> extended (延期, approved) -/      \\-> reopened (不满意, 重办) -> in_progress ...
    replied / followed_up / closed / reopened -> review (复查) -> review_answered -> closed
                                                                  \\-> re_review (复核) -> closed

A 不满意 rating reopens the case when the petitioner asks for the matter to be handled again, or
always when the county's policy says so (deadlines.json `followup.dissatisfied`); otherwise the case
is followed up and the petitioner may ask for a review (复查).

`returned` (退单) and the joint conference belong to routing: a return there comes back as a new
assignment. `in_mediation` is set while a mediation of the case runs. Pure: no I/O.
"""

from dataclasses import dataclass
from typing import Any, Literal

from dispatch_common.auth import Principal

HANDLING = frozenset({"signed", "in_progress", "extended", "reopened", "in_mediation"})
"""States in which the lead unit works on the case."""
ON_DESK = HANDLING | {"assigned", "review", "re_review", "route_disputed"}
"""States in which a case is on a unit's list (a disputed one stays there until the conference decides)."""
ASSIGNED = HANDLING | {
    "assigned",
    "replied",
    "followed_up",
    "closed",
    "review",
    "review_answered",
    "re_review",
}
"""States of a case that a unit was given: what the figures count."""
ANSWERED = frozenset({"replied", "followed_up", "closed", "review", "review_answered", "re_review"})
"""States after the unit's reply: a later route or dispute is recorded, and reopens nothing."""


Who = Literal["lead", "lead_or_assisting", "supervisors", "callback_staff", "dispatch"]


@dataclass(frozen=True)
class Action:
    """One thing a person may do to a case."""

    name: str
    label: str
    allowed_from: frozenset[str]
    who: Who
    moment: str | None = None  # the moment the action sets on the file (deadlines count from it)
    to: str | None = None  # the state after it; None: the state does not change


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("sign", "签收", frozenset({"assigned"}), "lead", moment="signed", to="signed"),
        Action("progress", "办理进展", HANDLING, "lead_or_assisting", to="in_progress"),
        Action("assistance", "请求协办", HANDLING, "lead"),
        Action("extension", "申请延期", HANDLING, "lead"),
        Action("extension_decision", "延期审批", HANDLING, "supervisors"),
        Action("reply", "答复办结", HANDLING, "lead", moment="replied", to="replied"),
        Action("followup", "回访", frozenset({"replied"}), "callback_staff", moment="followed_up"),
        Action("close", "结案", frozenset({"followed_up", "review_answered"}), "dispatch", to="closed"),
        Action(
            "review",
            "申请复查",
            frozenset({"replied", "followed_up", "closed", "reopened"}),
            "callback_staff",
            moment="review_requested",
            to="review",
        ),
        Action(
            "review_answer",
            "复查答复",
            frozenset({"review"}),
            "supervisors",
            moment="review_answered",
            to="review_answered",
        ),
        Action(
            "re_review",
            "申请复核",
            frozenset({"review_answered"}),
            "callback_staff",
            moment="re_review_requested",
            to="re_review",
        ),
        Action(
            "re_review_answer",
            "复核答复",
            frozenset({"re_review"}),
            "supervisors",
            moment="re_review_answered",
            to="closed",
        ),
    )
}

OPEN = ASSIGNED - {"closed"}
"""States in which supervisors may still take a case in hand."""

for oversight in (
    Action("leader_holding", "领导包案", OPEN, "supervisors"),
    Action("joint_supervision", "信访+纪检联合督办", OPEN, "supervisors"),
):
    ACTIONS[oversight.name] = oversight

RATINGS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
REPLY_RESULTS = {"resolved": "已解决", "explained": "已解释说明", "not_supported": "诉求不予支持"}


class NotAllowed(Exception):
    """The case's state does not allow the action (HTTP 409)."""


class NotEntitled(Exception):
    """The caller may not take the action on this case (HTTP 403)."""


def unit_codes(doc: dict[str, Any]) -> tuple[str | None, set[str]]:
    """The lead unit's code and the assisting units' codes of a case file."""
    lead = (doc.get("lead_unit") or {}).get("code")
    return lead, {u["code"] for u in doc.get("assisting_units") or []}


def check(action: Action, doc: dict[str, Any], caller: Principal) -> None:
    """Raise unless the caller may take the action in the case's current state."""
    lead, assisting = unit_codes(doc)
    # Which roles may take an action is the authorization table's (data/policy/authorization.yaml);
    # here, the unit's relation to the case: a unit acts on a case it leads (or assists on), and the
    # county-wide roles on any case.
    unit = None if caller.county_wide else caller.unit
    entitled = {
        "lead": unit is not None and unit == lead,
        "lead_or_assisting": unit is not None and (unit == lead or unit in assisting),
        "supervisors": caller.county_wide,
        "callback_staff": caller.county_wide,
        "dispatch": caller.county_wide,
    }[action.who]
    if not entitled:
        raise NotEntitled(
            f"{caller.role.value} {caller.unit or ''} may not {action.name} ({action.label}) this case"
        )
    status = doc.get("status")
    if status not in action.allowed_from:
        allowed = ", ".join(sorted(action.allowed_from))
        raise NotAllowed(
            f"{action.name} ({action.label}) is not allowed in state {status}; only in {allowed}"
        )
