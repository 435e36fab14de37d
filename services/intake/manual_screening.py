"""A person's screening of a case from the manual queue (人工甄别): recorded under the case's version, with
the screened event and the outcome feed it owes."""

from typing import Any

from dispatch_common import etag, store
from dispatch_common.auth import Principal
from dispatch_common.contracts import SCREENING_STATUS
from dispatch_common.envelope import Outgoing
from services.intake.container import Intake
from services.intake.domain import feed, lookup
from services.intake.domain.models import Registered
from services.intake.domain.protection import (
    SCREENING_REASON,
    petitioner_view,
    protect_free_text,
)
from services.intake.domain.screening import ScreeningResult
from services.intake.handlers import screened_event


class ScreeningNotOpen(Exception):
    """The case is not in the manual screening queue."""


class StaleCase(Exception):
    """The caller's If-Match names a version the case is no longer at; `version`: the current one."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"the case is at version {version}")


async def screen_by_hand(
    case_id: str, decision: ScreeningResult, *, intake: Intake, caller: Principal, if_match: str | None = None
) -> tuple[Registered, int] | None:
    """Record a person's screening of a case from the manual queue, and owe dispatch.case.screened;
    the answer and the case's new version (StaleCase when `if_match` names another version)."""

    async def attempt() -> tuple[Registered, int] | None:
        case = await intake.cases.get_versioned(case_id)
        if case is None:
            return None
        if not etag.matches(if_match, case["version"]):
            raise StaleCase(case["version"])
        return await _record_screening(case, decision, intake=intake, caller=caller)

    # A concurrent write (another replica, `make rekey`) moves the version: read again and decide again
    # (a change made from one version, with If-Match, then finds it stale).
    return await store.retry_on_conflict(attempt)


async def _record_screening(
    case: dict[str, Any], decision: ScreeningResult, *, intake: Intake, caller: Principal
) -> tuple[Registered, int]:
    if case["screening"]["outcome"] != "manual":
        raise ScreeningNotOpen(
            f"case {case['case_no']} was screened already ({case['screening']['outcome']})"
        )
    # a person may find a report confidential that the rules missed, but never lifts what they decided
    confidential = decision.confidential or bool(case.get("confidential"))
    # the person's reason is free text: numbers in it are masked, and sealed aside like the submission's
    masked, sealed = protect_free_text(intake.keys, case["_id"], {SCREENING_REASON: decision.reason})
    decision = decision.model_copy(update={"confidential": confidential, "reason": masked[SCREENING_REASON]})
    changes = {
        "screening": decision.model_dump() | {"screened_by": caller.subject},
        "status": SCREENING_STATUS[decision.outcome],
        "confidential": confidential,
        # the reason replaces any earlier one: so do its sealed values
        "free_text_pii": {k: v for k, v in (case.get("free_text_pii") or {}).items() if k != SCREENING_REASON}
        | sealed,
    }
    event = screened_event(
        case | changes,
        lookup.with_token(intake.keys, petitioner_view(case | changes), case),
        decision,
        screened_by=caller.subject,
        cause=f"manual|{case['version']}",
        clock=intake.clock,
        rules=intake.screening.current.rules.file,
    )
    owed: list[Outgoing] = [event]
    if case.get("feed"):
        owed += feed.screened(
            case | changes,
            changes["screening"],
            feed=case["feed"],
            by="person",
            at=event.time,
            cause=f"manual|{case['version']}",
        )
    saved = await intake.cases.save(case, changes, owed)
    await intake.history.set_outcome(case["_id"], decision.outcome)
    return Registered(case_id=case["_id"], case_no=case["case_no"], status=changes["status"]), saved[
        "version"
    ]
