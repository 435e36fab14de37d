"""Case files for the supervision tests: one policy, one calendar, units and callers, and a case
brought to the assigned state as the consumers would leave it."""

from zoneinfo import ZoneInfo

from dispatch_common import subjects
from dispatch_common.auth import Principal, Role
from dispatch_common.envelope import make_event
from dispatch_common.paths import DATA_DIR
from dispatch_common.workdays import WorkingCalendar
from services.supervision import handlers
from services.supervision.domain.events import CaseReceivedView, CaseRoutedView, CaseScreenedView
from services.supervision.domain.policy import DeadlinePolicy, Timekeeper
from tests.helpers import MONDAY  # noqa: F401 - re-exported for the tests

CHINA = ZoneInfo("Asia/Shanghai")
KEEPER = Timekeeper(
    DeadlinePolicy.load(DATA_DIR / "policy" / "deadlines.json"), WorkingCalendar.load(), CHINA
)
LEAD = {"code": "T1-GOV", "name": "镇政府", "type": "town_government", "role": "lead"}
HELPER = {"code": "T1-PCS", "name": "派出所", "type": "police_station", "role": "police"}
HANDLER = Principal(subject="h", role=Role.UNIT_HANDLER, unit="T1-GOV")
ASSISTING = Principal(subject="p", role=Role.UNIT_HANDLER, unit="T1-PCS")
STRANGER = Principal(subject="x", role=Role.UNIT_HANDLER, unit="T9-GOV")
SUPERVISOR = Principal(subject="s", role=Role.SUPERVISOR)
CLERK = Principal(subject="c", role=Role.RECEPTION_CLERK)
DISPATCHER = Principal(subject="d", role=Role.DISPATCHER)


async def assigned(
    files, clock, case_id="c1", channel="petition_letter", lead=LEAD, revision=1, **fields
) -> dict:
    """A registered, screened and routed case, as the consumers would leave it."""
    received = CaseReceivedView(
        case_id=case_id, case_no=f"N-{case_id}", received_at=clock.now(), channel=channel
    )
    await handlers.open_case_file(received, files=files, keeper=KEEPER)
    screened = CaseScreenedView(
        case_id=case_id, case_no=f"N-{case_id}", received_at=clock.now(), channel=channel, outcome="accepted"
    )
    await handlers.record_screening(screened, files=files, keeper=KEEPER, at=clock.now())
    await route(files, clock, case_id, lead=lead, revision=revision, **fields)
    doc = await files.get(case_id)
    assert doc is not None and doc["status"] == "assigned"
    return doc


async def route(files, clock, case_id="c1", *, lead=LEAD, revision=1, **fields) -> None:
    """Routing's decision (revision 1) or a later one (dispatch.case.rerouted) reaching supervision."""
    data = {
        "case_id": case_id,
        "case_no": f"N-{case_id}",
        "jurisdiction": {"town": "T1", "village": "V1", "grid": None},
        "category": {"code": "02", "subcode": "0203"},
        "flags": ["police"],
        "lead_unit": lead,
        "assisting_units": [HELPER],
        "tier": "general",
        "queue": "auto",
        "revision": revision,
    } | fields
    kind = subjects.CASE_ROUTED if revision == 1 else subjects.CASE_REROUTED
    event = make_event(type=kind, source="/test", subject=case_id, data={}, clock=clock)
    await handlers.assign_routed_case(
        event, CaseRoutedView.model_validate(data), files=files, keeper=KEEPER, clock=clock, consumer="test"
    )


async def act(files, clock, caller, action, note="说明", case_id="c1", **details) -> dict:  # type: ignore[no-untyped-def]
    """A person's action on a case, as supervision's API takes it."""
    from services.supervision import commands

    return await commands.act(
        case_id,
        commands.Command(action, note, details or None),
        caller=caller,
        files=files,
        keeper=KEEPER,
        clock=clock,
    )


def owed(doc: dict) -> list[str]:
    """The types of the events a case file owes (its outbox)."""
    return [e["event"]["type"] for e in doc["outbox"]]


def deadline(doc: dict, kind: str) -> dict:
    """The case file's deadline of one kind."""
    return next(d for d in doc["deadlines"] if d["kind"] == kind)
