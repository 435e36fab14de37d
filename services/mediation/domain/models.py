"""Mediation's view of routed cases, its records and the events it emits."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

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
    """What mediation needs of dispatch.case.routed."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    flags: list[str]
    lead_unit: UnitRef | None
    assisting_units: list[UnitRef]


class Organization(BaseModel):
    """The mediation organization that takes the dispute."""

    code: str
    name: str
    type: str


class MediationOpened(BaseModel):
    """dispatch.mediation.opened."""

    mediation_id: str
    case_id: str
    organization: Organization
    type: Literal["people", "court", "police", "professional", "petition"]
    status: Literal["opened"]
    opened_at: datetime


def choose_organization(case: RoutedDispute) -> Organization | None:
    """The mediation committee routing brought in for the mediation flag, else one that leads the case."""
    candidates = [u for u in case.assisting_units if u.role == MEDIATION_FLAG]
    candidates += [
        u for u in [case.lead_unit, *case.assisting_units] if u and u.type in PEOPLE_MEDIATION_TYPES
    ]
    for unit in candidates:
        return Organization(code=unit.code, name=unit.name, type=unit.type)
    return None
