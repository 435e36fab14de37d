"""A mediation's lifecycle: which action is allowed in which state, and by whom. Pure: no I/O.

    opened -> consent_pending -> in_progress (sessions) -> agreed -> fulfilled
       \\            \\                  \\          \\        \\-> unfulfilled (referral or handling)
        \\            \\                  \\          \\-> failed (referral or handling)
         \\------------\\-> refused        \\-> escalated (police brought in; sessions and outcome go on)

Mediation is voluntary: a party's refusal is an outcome (`refused`) with its next step. `opened`
means nobody has answered yet; `consent_pending` that some parties agreed and others have not
answered. A mediation counts in its mediator's load while it is open.
"""

from dataclasses import dataclass
from typing import Any, Literal

from dispatch_common.auth import Principal

OPEN = frozenset({"opened", "consent_pending", "in_progress", "escalated"})
"""States of a mediation still being worked on: they count in the mediator's load."""
CONCLUDED = frozenset({"agreed", "fulfilled", "unfulfilled", "failed", "refused"})
"""States after the outcome; `agreed` still waits for its fulfilment check."""
WORKING = frozenset({"in_progress", "escalated"})
"""States in which sessions are held and the outcome is recorded."""

# Which roles act on a mediation is the authorization table's (data/policy/authorization.yaml): an
# organization's mediators, handlers and leaders with the scope of their unit, dispatchers and
# supervisors with the county's; moving a mediation to another organization is its capability
# `choose_organization`.

Who = Literal["organization", "organization_or_dispatch"]


@dataclass(frozen=True)
class Action:
    """One thing a person may do to a mediation."""

    name: str
    label: str
    allowed_from: frozenset[str]
    who: Who


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "consent", "征求调解意愿", frozenset({"opened", "consent_pending", "escalated"}), "organization"
        ),
        Action("assign", "指派调解组织和调解员", OPEN, "organization_or_dispatch"),
        Action("schedule_session", "安排调解", WORKING, "organization"),
        Action("reschedule_session", "调整调解时间地点", WORKING, "organization"),
        Action("cancel_session", "取消调解", WORKING, "organization"),
        Action("record_session", "调解记录", WORKING, "organization"),
        Action("conclude", "调解结果", WORKING, "organization"),
        Action(
            "escalate",
            "矛盾升级预警",
            frozenset({"opened", "consent_pending", "in_progress"}),
            "organization_or_dispatch",
        ),
        Action("check_fulfilment", "协议履行回访", frozenset({"agreed"}), "organization_or_dispatch"),
    )
}


class NotAllowed(Exception):
    """The mediation's state does not allow the action (HTTP 409)."""


class NotEntitled(Exception):
    """The caller may not take the action on this mediation (HTTP 403)."""


def acts_for(caller: Principal, organization: str) -> bool:
    """Whether the caller acts for the organization (a role of it, with its unit's scope)."""
    return not caller.county_wide and caller.unit is not None and caller.unit == organization


def may_see(caller: Principal, doc: dict[str, Any]) -> bool:
    """County-wide roles see every mediation; others those of their organization, a unit those it
    asked for, and the police station brought in by an escalation."""
    if caller.county_wide:
        return True
    units = {
        doc["organization"]["code"],
        (doc.get("requested_by") or {}).get("unit"),
        *doc.get("partner_units", []),
    }
    return caller.unit is not None and caller.unit in units


def check(action: Action, doc: dict[str, Any], caller: Principal) -> None:
    """Raise unless the caller may take the action in the mediation's current state."""
    organization = doc["organization"]["code"]
    entitled = acts_for(caller, organization) or (
        action.who == "organization_or_dispatch" and caller.county_wide
    )
    if not entitled:
        raise NotEntitled(
            f"{caller.role.value} {caller.unit or ''} may not {action.name} ({action.label}) here"
        )
    status = doc["status"]
    if status not in action.allowed_from:
        allowed = ", ".join(sorted(action.allowed_from))
        raise NotAllowed(
            f"{action.name} ({action.label}) is not allowed in state {status}; only in {allowed}"
        )
