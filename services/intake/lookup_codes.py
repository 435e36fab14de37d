"""A clerk re-issues or revokes a case's lookup code (查询码): a new version, announced with its
verifier (or none) in `dispatch.case.lookup_code_changed`, written with the case under its version."""

from collections.abc import Callable
from typing import Any

from dispatch_common import subjects
from dispatch_common.auth import Principal
from dispatch_common.envelope import derived_event_id, make_event
from services.intake.container import Intake
from services.intake.domain import lookup
from services.intake.domain.events import LookupCodeChanged
from services.intake.handlers import SOURCE


async def change(
    intake: Intake,
    case: dict[str, Any],
    *,
    caller: Principal,
    revoke: bool,
    precondition: Callable[[int], None],
) -> tuple[dict[str, Any], lookup.Issued | None]:
    """Re-issue (a new code) or revoke a case's code; the case as saved and the new code, if any.
    `precondition` sees the code's current version (If-Match); raises store.VersionConflict when the
    case changed meanwhile."""
    current = await intake.cases.get_versioned(case["_id"])
    assert current is not None
    version = int((current.get("lookup") or {}).get("version") or 0)
    precondition(version)
    new = version + 1
    issued = None if revoke else lookup.issue(intake.keys, current["_id"], new)
    event = make_event(
        type=subjects.CASE_LOOKUP_CODE_CHANGED,
        source=SOURCE,
        subject=current["_id"],
        clock=intake.clock,
        event_id=derived_event_id("intake", current["_id"], subjects.CASE_LOOKUP_CODE_CHANGED, str(new)),
        data=LookupCodeChanged(
            case_id=current["_id"],
            case_no=current["case_no"],
            version=new,
            verifier=issued.verifier if issued else None,
            revoked=revoke,
            by=caller.subject,
            at=intake.clock.now(),
        ),
    )
    saved = await intake.cases.save(current, {"lookup": lookup.stored(new, revoked=revoke)}, [event])
    return saved, issued
