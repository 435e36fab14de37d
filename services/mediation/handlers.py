"""Mediation's event handlers: remember routed cases, open a mediation for a flagged dispute, and
refer a case routing flagged for legal aid or counselling."""

from typing import Any

from dispatch_common import subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id
from services.mediation.adapters.repository import MediationStore
from services.mediation.domain.lifecycle import NotAllowed
from services.mediation.domain.models import MEDIATION_FLAG, ReferralRequest, RoutedDispute
from services.mediation.domain.rules import Rules
from services.mediation.opening import open_mediation
from services.mediation.referral_commands import build_referral


def case_record(case: RoutedDispute) -> dict[str, Any]:
    """What mediation keeps of routing's decision on a case."""
    return case.model_dump(mode="python") | {"units": sorted(case.units())}


async def remember_case(case: RoutedDispute, *, repo: MediationStore) -> None:
    """Keep routing's latest decision, so a unit's request can be checked and the case placed; a
    confidential report is not kept, so no mediation can be asked for it either."""
    if case.confidential:
        return
    await repo.remember_case(case_record(case))


async def on_routed(
    event: Envelope, case: RoutedDispute, *, repo: MediationStore, rules: Rules, clock: Clock, consumer: str
) -> list[str]:
    """A routed case: remembered; a flagged dispute gets a mediation, a flag for legal aid or
    counselling a referral. Once per case: ids derive from the case and the routed event. A confidential
    report (检举控告) opens nothing: a mediation would bring the place's committee to the accused's door."""
    if case.confidential:
        return []
    await remember_case(case, repo=repo)
    made: list[str] = []
    if MEDIATION_FLAG in case.flags:
        doc = await open_mediation(
            case,
            origin="routed",
            mediation_id=derived_event_id("mediation", case.case_id),
            repo=repo,
            rules=rules,
            clock=clock,
            event_id=derived_event_id(consumer, event.id, subjects.MEDIATION_OPENED),
        )
        if doc is not None:  # None: no organization serves the case, or it was opened before
            made.append(doc["_id"])
    for flag, kind in rules.policy.referrals_from_flags.items():
        if flag not in case.flags:
            continue
        request = ReferralRequest(kind=kind, reason=f"routing flagged the case `{flag}`")
        referral_id = derived_event_id("referral", case.case_id, "flag", flag)
        try:
            doc, events = build_referral(
                case_record(case),
                request,
                origin="flag",
                referral_id=referral_id,
                mediation=None,
                made_by=None,
                rules=rules,
                clock=clock,
                event_id=derived_event_id(consumer, event.id, subjects.REFERRAL_MADE, kind),
            )
        except NotAllowed:
            continue  # no receiving center serves the case: routing's assisting unit is all there is
        if await repo.insert_referral(doc, events):
            made.append(referral_id)
    return made
