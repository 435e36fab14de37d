"""Opening a mediation and giving it to an organization and a mediator.

A mediation is opened from a routed case flagged `mediation`, from a unit's request or by a
dispatcher. The organization is chosen by jurisdiction, type and category (domain/organizations.py),
the mediator by language, specialty and load (domain/mediators.py); the time limit comes from the
policy table and is announced with the opening, so supervision can put it on the case's deadlines.
"""

from collections.abc import Callable
from typing import Any

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.envelope import derived_event_id
from services.mediation.adapters.repository import MediationStore
from services.mediation.domain.events import mediation_event
from services.mediation.domain.lifecycle import (
    ACTIONS,
    OPEN,
    NotAllowed,
    NotEntitled,
    check,
    may_see,
)
from services.mediation.domain.mediators import Mediator, MediatorChoice, choose_mediator
from services.mediation.domain.models import RoutedDispute, actor, choose_organization
from services.mediation.domain.organizations import Organization
from services.mediation.domain.policy import MediationType
from services.mediation.domain.rules import Rules, derived_fields


class MediationNotFound(Exception):
    """No mediation (or case), or not one the caller may see."""


async def pick_mediator(
    organization: str,
    case: RoutedDispute,
    language: str | None,
    *,
    repo: MediationStore,
    exclude: str | None = None,
) -> MediatorChoice:
    """The mediator of an organization for a case, by language, specialty and current load."""
    docs = await repo.mediators_of(organization)
    mediators = [
        Mediator.model_validate({k: v for k, v in d.items() if k not in ("_id", "version")}) for d in docs
    ]
    loads = await repo.loads(organization)
    if exclude is not None:
        mediators = [m for m in mediators if m.id != exclude]
    return choose_mediator(
        mediators, loads, category=case.category_code, subcategory=case.subcategory_code, language=language
    )


def pick_organization(
    case: RoutedDispute, requested: MediationType | None, rules: Rules, *, fallback: bool
) -> tuple[Organization | None, list[str]]:
    """The organization for a case by the rule, else (for a routed case) the committee routing named."""
    policy = rules.policy
    choice = rules.directory.choose(
        village=case.village,
        town=case.town,
        category=case.category_code,
        subcategory=case.subcategory_code,
        requested=requested,
        start_level=policy.start_level(case.tier, case.flags),
        professional_first=policy.choice.professional_first,
    )
    if choice.organization is not None or not fallback:
        return choice.organization, choice.explanation
    unit = choose_organization(case)
    org = rules.directory.active(unit.code if unit else None)
    if org is not None:
        return org, [*choice.explanation, f"the committee routing brought in: {org.code} ({org.name})"]
    return None, [*choice.explanation, "routing named no mediation committee either"]


def taking_mediations(code: str, rules: Rules) -> Organization:
    """The organization a person names for a mediation; it must exist and not be deactivated."""
    org = rules.directory.organizations.get(code)
    if org is None:
        raise NotAllowed(f"no mediation organization {code}")
    if not org.active:
        raise NotAllowed(f"mediation organization {code} is deactivated: it takes no new mediations")
    return org


async def open_mediation(
    case: RoutedDispute,
    *,
    origin: str,
    mediation_id: str,
    repo: MediationStore,
    rules: Rules,
    clock: Clock,
    caller: Principal | None = None,
    requested: MediationType | None = None,
    organization: str | None = None,
    language: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any] | None:
    """Open a mediation for a case with its organization, mediator and time limit; None when no
    organization can be named, or when a mediation with this id exists already."""
    if organization is not None:
        org = taking_mediations(organization, rules)
        explanation = [f"organization named by {origin}: {org.code} ({org.name})"]
    else:
        org, explanation = pick_organization(case, requested, rules, fallback=origin == "routed")
    if org is None:
        return None
    mediator = await pick_mediator(org.code, case, language, repo=repo)
    now = clock.now()
    limit = rules.policy.time_limit(org.type)
    due_at = limit.due(now, rules.calendar, rules.timezone)
    jurisdiction = {"town": case.town, "village": case.village}
    category = {"code": case.category_code, "subcode": case.subcategory_code}
    doc: dict[str, Any] = {
        "_id": mediation_id,
        "case_id": case.case_id,
        "case_no": case.case_no,
        "type": org.type,
        "status": "opened",
        "origin": origin,
        "requested_by": actor(caller),
        "organization": org.ref(),
        "mediator": {"id": mediator.mediator.id, "name": mediator.mediator.name}
        if mediator.mediator
        else None,
        "language": language,
        "jurisdiction": jurisdiction,
        "category": category,
        "flags": case.flags,
        "tier": case.tier,
        "note": note,
        "explanation": explanation + mediator.explanation,
        "parties": [],
        "sessions": [],
        "outcome": None,
        "agreement": None,
        "fulfilment": None,
        "escalation": None,
        "partner_units": [],
        "referrals": [],
        "actions": [],
        "alarms_fired": [],
        "opened_at": now,
        "due_at": due_at,
        "time_limit": {
            "days": limit.days,
            "calendar": limit.calendar,
            "label": limit.label,
            "basis": limit.basis,
        },
        "concluded_at": None,
    }
    doc |= derived_fields(doc)
    data = {
        "origin": origin,
        "opened_at": now,
        "due_at": due_at,
        "deadline": {"kind": "mediation", "label": limit.label, "due_at": due_at, "basis": limit.basis},
        "jurisdiction": jurisdiction,
        "category": category,
        "explanation": doc["explanation"],
    }
    opened = mediation_event(
        doc,
        subjects.MEDIATION_OPENED,
        data,
        by=actor(caller),
        at=now,
        cause="opened",
        clock=clock,
        event_id=event_id,
    )
    if not await repo.insert(doc, [opened]):
        return None
    return doc


async def request_mediation(
    case_id: str,
    *,
    caller: Principal,
    repo: MediationStore,
    rules: Rules,
    clock: Clock,
    requested: MediationType | None,
    organization: str | None,
    language: str | None,
    note: str | None,
) -> dict[str, Any]:
    """A dispatcher opens a mediation, or a unit of the case asks for one; one open at a time."""
    raw = await repo.case(case_id)
    dispatch = caller.county_wide
    if raw is None or not (
        caller.county_wide or (caller.unit is not None and caller.unit in raw.get("units", []))
    ):
        raise MediationNotFound(f"no routed case {case_id}")
    if not dispatch and caller.unit not in raw.get("units", []):
        raise NotEntitled(f"{caller.role.value} may not open a mediation")
    if organization is not None and "choose_organization" not in caller.capabilities:
        raise NotEntitled("only a dispatcher or supervisor names the organization")
    case = RoutedDispute.model_validate(raw)
    earlier = await repo.of_case(case_id)
    busy = [d for d in earlier if d["status"] in OPEN | {"agreed"}]
    if busy:
        raise NotAllowed(f"mediation {busy[0]['_id']} of this case is {busy[0]['status']}; one at a time")
    mediation_id = derived_event_id("mediation", case_id, *([str(len(earlier))] if earlier else []))
    doc = await open_mediation(
        case,
        origin="dispatcher" if dispatch else "unit_request",
        mediation_id=mediation_id,
        repo=repo,
        rules=rules,
        clock=clock,
        caller=caller,
        requested=requested,
        organization=organization,
        language=language,
        note=note,
    )
    if doc is None:
        kind = requested or "people's"
        raise NotAllowed(f"no {kind} mediation organization serves this case, or one was opened meanwhile")
    return doc


async def assign(
    mediation_id: str,
    *,
    caller: Principal,
    repo: MediationStore,
    rules: Rules,
    clock: Clock,
    organization: str | None,
    mediator: str | None,
    reason: str | None,
    precondition: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Give a mediation to another organization (dispatchers) or mediator; without a name, the rule
    picks the mediator again. `precondition` may refuse the version read (If-Match)."""

    async def attempt() -> dict[str, Any]:
        doc = await repo.get(mediation_id)
        if doc is None or not may_see(caller, doc):
            raise MediationNotFound(f"no mediation {mediation_id}")
        if precondition is not None:
            precondition(doc["version"])
        check(ACTIONS["assign"], doc, caller)
        code = doc["organization"]["code"]
        org = rules.directory.organizations.get(code)
        if organization is not None and organization != code:
            if "choose_organization" not in caller.capabilities:
                raise NotEntitled("only a dispatcher or supervisor moves a mediation to another organization")
            org = taking_mediations(organization, rules)
        if org is None:  # an organization created over the API whose edit the data no longer allows
            raise NotAllowed(f"organization {code} is not in the directory in force: move the mediation")
        case = RoutedDispute(
            case_id=doc["case_id"],
            case_no=doc["case_no"],
            flags=doc.get("flags") or [],
            lead_unit=None,
            assisting_units=[],
            jurisdiction=doc["jurisdiction"],
            category=doc["category"],
            tier=doc.get("tier"),
        )
        if mediator is not None:
            found = await repo.mediator(mediator)
            if found is None or found["organization"] != org.code:
                raise NotAllowed(f"mediator {mediator} is not of {org.code}")
            chosen = {"id": found["id"], "name": found["name"]}
        else:
            current = (
                (doc.get("mediator") or {}).get("id") if org.code == doc["organization"]["code"] else None
            )
            pick = await pick_mediator(org.code, case, doc.get("language"), repo=repo, exclude=current)
            chosen = {"id": pick.mediator.id, "name": pick.mediator.name} if pick.mediator else None
        now = clock.now()
        changes: dict[str, Any] = {
            "organization": org.ref(),
            "type": org.type,
            "mediator": chosen,
            "actions": [
                *doc["actions"],
                {"action": "assign", "by": actor(caller), "at": now, "note": reason},
            ],
        }
        state = doc | changes
        changes |= derived_fields(state)
        data = {
            "previous_organization": doc["organization"],
            "previous_mediator": doc.get("mediator"),
            "reason": reason,
        }
        event = mediation_event(
            state,
            subjects.MEDIATION_ASSIGNED,
            data,
            by=actor(caller),
            at=now,
            cause=f"assign|{doc['version']}",
            clock=clock,
        )
        return await repo.save(doc, changes, [event])

    return await store.retry_on_conflict(attempt)
