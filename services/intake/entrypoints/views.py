"""How intake's API shows a registration, and who may read it: shared by the case's reads and the
screening queue."""

from typing import Any

from fastapi import HTTPException, status

from dispatch_common.auth import Principal
from services.intake.container import Intake
from services.intake.domain.protection import SCREENING_REASON


def registration_view(
    case: dict[str, Any], *, clear: dict[str, str] | None = None, texts: dict[str, str] | None = None
) -> dict[str, Any]:
    """A stored case as the API shows it: personal data masked unless `clear` holds the petitioner's
    decrypted values and `texts` the clear free-text fields."""
    p = case.get("petitioner") or {}
    clear, texts = clear or {}, texts or {}
    screening = case.get("screening") or {}
    return {
        "case_id": case["_id"],
        "case_no": case["case_no"],
        "channel": case["channel"],
        "text": texts.get("text", case["text"]),
        "text_original": texts.get("text_original", case.get("text_original")),
        "address": texts.get("address", case.get("address")),
        "location": case.get("location"),
        "people_count": case.get("people_count"),
        "status": case["status"],
        "received_at": case["received_at"],
        "external_ref": case.get("external_ref"),
        "police_incident_no": case.get("police_incident_no"),
        "grid_worker": case.get("grid_worker"),
        "campaign": texts.get("campaign", case.get("campaign")),
        "confidential": bool(case.get("confidential")),
        "petitioner": {
            "anonymous": p.get("anonymous", True),
            "name": clear.get("name", p.get("name_masked")),
            "phone": clear.get("phone", p.get("phone_masked")),
            "id_number": clear.get("id_number", p.get("id_masked")),
            "email": clear.get("email", p.get("email_masked")),
            "postal_address": clear.get("postal_address", p.get("address_masked")),
        },
        "representatives": len(case.get("representatives") or []),
        "screening": {
            k: screening.get(k)
            for k in (
                "outcome",
                "nature",
                "hotline_nature",
                "reason",
                "rule_id",
                "rules_version",
                "transfer_to",
                "answer",
                "screened_by",
                "evidence",
            )
        }
        | {"reason": texts.get(SCREENING_REASON, screening.get("reason"))},
        "links": case.get("links") or {"repeat_of": None, "incident_of": None},
    }


def units_on(case: dict[str, Any]) -> list[str]:
    """The units the case is assigned to, as intake learnt from dispatch.case.assigned."""
    assignment = case.get("assignment") or {}
    lead = assignment.get("lead_unit_code")
    return assignment.get("unit_codes") or ([lead] if lead else [])


async def readable(intake: Intake, user: Principal, case_id: str, what: str) -> dict[str, Any]:
    """The case, if the caller may read it (`404` otherwise, as for an absent case); a confidential
    report may be read only by its units and the county's named roles, and each read is audited."""
    case = await intake.cases.get(case_id)
    if case is not None:
        confidential = bool(case.get("confidential"))
        if (confidential or user.county_wide) and await intake.confidentiality.admit(
            user, case_id, unit_codes=units_on(case), confidential=confidential, what=what
        ):
            return case
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
