"""Shared pieces of the mediation tests: the shipped rules, a clock, callers and routed disputes of
the demo county (codes come from its package, read here, never written in service code)."""

import tempfile
import zlib
from pathlib import Path
from typing import Any

from dispatch_common.auth import Principal, Role, granted
from dispatch_common.envelope import make_event
from services.mediation.config import MediationSettings
from services.mediation.container import load_rules
from services.mediation.domain.models import RoutedDispute
from tests.helpers import MONDAY  # noqa: F401 - re-exported for the tests

_KEYS = tempfile.TemporaryDirectory(prefix="mediation-test-keys-")  # development keys, not the repo's
RULES, SEED = load_rules(MediationSettings(environment="test", run_dir=Path(_KEYS.name)))
TOWN = "990102101"
VILLAGE = "990102101001"
VILLAGE_COMMITTEE = "990102101001-TJW"
TOWN_COMMITTEE = "990102101-TJW"
LABOUR_MEDIATION = "990102-LDTJW"
POLICE_STATION = "990102101-PCS"
LEGAL_AID = "990102-FLYZ"
COUNSELLING = "990102-XLZX"
COURT = "990102-FY"
ARBITRATION = "990102-ZCY"
# As the authorization table admits them to open a mediation: with their scope and capabilities.
DISPATCHER = granted(Principal(subject="d", role=Role.DISPATCHER), "mediation", "POST /v1/mediations")
SUPERVISOR = granted(Principal(subject="s", role=Role.SUPERVISOR), "mediation", "POST /v1/mediations")
CLERK = Principal(subject="c", role=Role.RECEPTION_CLERK)  # a reader: the table lets it act on nothing here


def mediator_of(org: str, subject: str = "m") -> Principal:
    """A mediator acting for an organization."""
    return Principal(subject=subject, role=Role.MEDIATOR, unit=org)


def handler_of(unit: str, subject: str = "h") -> Principal:
    """A unit handler of a unit."""
    return Principal(subject=subject, role=Role.UNIT_HANDLER, unit=unit)


def routed(
    case_id: str = "c1",
    *,
    village: str | None = VILLAGE,
    town: str | None = TOWN,
    category: str | None = "14",
    subcategory: str | None = "1401",
    flags: tuple[str, ...] = ("mediation",),
    tier: str = "general",
    lead: str = f"{TOWN}-GOV",
) -> RoutedDispute:
    """A dispute as routing announces it."""
    return RoutedDispute.model_validate(
        {
            "case_id": case_id,
            "case_no": f"990102-2026-{zlib.crc32(case_id.encode()) % 1_000_000:06d}",
            "flags": list(flags),
            "lead_unit": {"code": lead, "name": "镇政府", "type": "town_government", "role": "lead"},
            "assisting_units": [
                {
                    "code": VILLAGE_COMMITTEE,
                    "name": "调委会",
                    "type": "mediation_committee",
                    "role": "mediation",
                }
            ],
            "jurisdiction": {"town": town, "village": village, "grid": None, "source": "coordinates"},
            "category": {"code": category, "subcode": subcategory, "confidence": 0.9},
            "tier": tier,
        }
    )


def routed_event(case: RoutedDispute, clock: Any) -> Any:
    """The envelope of dispatch.case.routed for a dispute (its id is what derived ids hang on)."""
    return make_event(type="dispatch.case.routed", source="/test", subject=case.case_id, data={}, clock=clock)
