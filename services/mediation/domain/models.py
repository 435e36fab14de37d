"""Mediation's view of routed cases, and small shapes its records and events share."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.auth import Principal

MEDIATION_FLAG = "mediation"
# Unit types that run people's mediation (人民调解); the committees themselves are county data.
PEOPLE_MEDIATION_TYPES = frozenset({"mediation_committee"})


class UnitRef(BaseModel):
    """A unit as routing names it."""

    model_config = ConfigDict(extra="ignore")

    code: str
    name: str
    type: str
    role: str


class RoutedDispute(BaseModel):
    """What mediation needs of dispatch.case.routed and dispatch.case.rerouted."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    flags: list[str]
    lead_unit: UnitRef | None
    assisting_units: list[UnitRef]
    jurisdiction: dict[str, Any] = Field(default_factory=dict)
    category: dict[str, Any] = Field(default_factory=dict)
    tier: str | None = None
    revision: int = 1
    confidential: bool = False  # a report against officials (检举控告): never mediated, not even kept

    @property
    def village(self) -> str | None:
        """The village (or community) of the case, if routing placed it there."""
        return self.jurisdiction.get("village")

    @property
    def town(self) -> str | None:
        """The town (or street, township) of the case."""
        return self.jurisdiction.get("town")

    @property
    def category_code(self) -> str | None:
        """The first-level category."""
        return self.category.get("code")

    @property
    def subcategory_code(self) -> str | None:
        """The second-level category."""
        return self.category.get("subcode")

    def units(self) -> set[str]:
        """The codes of the lead and assisting units."""
        return {u.code for u in [self.lead_unit, *self.assisting_units] if u}


def choose_organization(case: RoutedDispute) -> UnitRef | None:
    """The committee routing brought in for the mediation flag, else one that leads or assists.

    Mediation's own rule (domain/organizations.py) decides first; this is its fallback when the
    case's areas name no organization.
    """
    candidates = [u for u in case.assisting_units if u.role == MEDIATION_FLAG]
    candidates += [
        u for u in [case.lead_unit, *case.assisting_units] if u and u.type in PEOPLE_MEDIATION_TYPES
    ]
    return candidates[0] if candidates else None


def actor(caller: Principal | None) -> dict[str, Any] | None:
    """Who did something, as records and events name them."""
    if caller is None:
        return None
    return {"subject": caller.subject, "role": caller.role.value, "unit": caller.unit}


def mask_name(name: str) -> str:
    """A person's name as events carry it: the first character, then asterisks (张**)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


class ReferralRequest(BaseModel):
    """A referral a person asks for: the track and what the receiving center needs to know."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["legal_aid", "counselling", "arbitration", "court"]
    reason: str | None = Field(None, max_length=2000)
    risk_level: str | None = Field(None, max_length=32, description="counselling: a risk level of the policy")
    matter_type: str | None = Field(None, max_length=64, description="legal aid: a matter type of the policy")
    economic_hardship: bool | None = Field(
        None, description="legal aid: the applicant is in economic hardship"
    )


class NextStep(BaseModel):
    """What follows a refusal, a failure or an unfulfilled agreement: a referral, or the lead unit's
    ordinary handling of the case."""

    model_config = ConfigDict(extra="forbid")

    next_step: Literal["referral", "handling"] = "handling"
    referral: ReferralRequest | None = None
