"""What of a case leaves intake in its events: everything other services need, or, for a confidential
report (检举控告) and for a case waiting for a person to screen it, nothing that names or places anyone.

A withheld case's events carry a neutral placeholder for the text (the rules file's
`confidential_text`, or `withheld_text` while it waits for manual screening), no address, no
coordinates, no petitioner beyond `anonymous` (no masked name or phone, no contact token), no links to
other cases (they would tie the reporter to earlier cases and the place to incidents there), and none
of the channel's identifiers (external reference, police incident number, grid worker). Waiting cases
are withheld too, so that a case a person then finds confidential has leaked nothing before; a case
found not confidential is told whole by the person's dispatch.case.screened. The text stays in intake,
read by those who may through its audited API.
"""

from typing import Any

WITHHELD_FIELDS = ("address", "lon", "lat")
CHANNEL_IDENTIFIERS = ("external_ref", "police_incident_no", "grid_worker_id", "campaign")


def withholds(case: dict[str, Any]) -> bool:
    """Whether intake withholds the case's details: confidential, or waiting for manual screening."""
    return bool(case.get("confidential")) or (case.get("screening") or {}).get("outcome") == "manual"


def disclosed(
    data: dict[str, Any], case: dict[str, Any], *, confidential_text: str, withheld_text: str
) -> dict[str, Any]:
    """An event's data as it may leave intake: unchanged, or with the case's details withheld."""
    if not withholds(case):
        return data | {"withheld": False}
    petitioner = data.get("petitioner")
    anonymous = getattr(petitioner, "anonymous", None)
    if anonymous is None and isinstance(petitioner, dict):
        anonymous = petitioner.get("anonymous", True)
    out = data | dict.fromkeys(WITHHELD_FIELDS)
    out |= {
        "text": confidential_text if case.get("confidential") else withheld_text,
        "petitioner": {"anonymous": bool(anonymous)},
        "withheld": True,
    }
    if "links" in out:
        out["links"] = {"repeat_of": None, "incident_of": None}
    for key in CHANNEL_IDENTIFIERS:
        if key in out:
            out[key] = None
    return out
