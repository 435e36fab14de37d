"""Linking a routed case to an incident at its resolved place (services/routing/domain/incidents.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dispatch_common.similarity import fingerprint
from services.routing.domain.incidents import Candidate, IncidentPolicy, decide_incident, place_of
from services.routing.domain.models import Jurisdiction

POLICY = IncidentPolicy()
AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
GRID = ("grid", "G1")


def candidate(case_id: str, text: str, hours_before: float, incident: str | None = None) -> Candidate:
    return Candidate(
        case_id, f"NO-{case_id}", incident or case_id, AT - timedelta(hours=hours_before), fingerprint(text)
    )


def decide(text: str, candidates: list[Candidate], policy: IncidentPolicy = POLICY):
    return decide_incident(
        place=GRID,
        place_name="某小区",
        at=AT,
        text=fingerprint(text),
        candidates=candidates,
        lead_case_nos={"a": "NO-a"},
        policy=policy,
    )


def test_the_place_is_the_grid_else_the_village_never_the_town_alone():
    assert place_of(Jurisdiction(town="T", village="V", grid="G"), POLICY) == ("grid", "G")
    assert place_of(Jurisdiction(town="T", village="V"), POLICY) == ("village", "V")
    assert place_of(Jurisdiction(town="T"), POLICY) is None
    assert place_of(Jurisdiction(town="T", grid="G"), IncidentPolicy(enabled=False)) is None


def test_a_differently_worded_call_joins_the_incident_of_its_most_similar_case_with_the_reason():
    first = candidate("a", "小区里有一股刺鼻的臭味，像是化粪池冒出来的", 3)
    second = candidate("b", "楼下化粪池臭气熏天，晚上臭味更重", 1, incident="a")
    link = decide("这两天一直有很臭的味道，怀疑化粪池堵了", [first, second])
    assert link is not None and link.incident_id == "a" and link.lead_case_no == "NO-a"
    assert link.place == "G1" and link.place_level == "grid" and link.similarity >= POLICY.similarity
    assert "某小区" in link.reason and "similarity" in link.reason


def test_another_matter_at_the_same_place_or_a_call_outside_the_window_joins_nothing():
    smell = candidate("a", "小区里有一股刺鼻的臭味，像是化粪池冒出来的", 3)
    assert decide("小区门口的路灯坏了一个多月了，晚上很黑", [smell]) is None
    old = candidate("a", "小区里有一股刺鼻的臭味，像是化粪池冒出来的", POLICY.window_hours + 1)
    assert decide("小区里有一股刺鼻的臭味，像是化粪池冒出来的", [old]) is None


def test_the_policy_refuses_thresholds_out_of_range():
    with pytest.raises(ValidationError):
        IncidentPolicy(similarity=1.5)
    with pytest.raises(ValidationError):
        IncidentPolicy(window_hours=0)
    assert IncidentPolicy.load().enabled  # the shipped file reads
