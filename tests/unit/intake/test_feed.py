"""The outcome feed and the lifecycle intake keeps: what each of supervision's events owes a case's
system, once, in a valid contract, with no more personal data than the system sent."""

from datetime import UTC, datetime, timedelta

from dispatch_common import subjects
from dispatch_common.contracts import validate_event
from services.intake.domain import feed
from services.intake.domain.lifecycle import Step, advance

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
UNIT = {"code": "990102-CGJ", "name": "城管局", "type": "bureau", "role": "lead"}


def case(**extra) -> dict:
    return {
        "_id": "c-1",
        "case_no": "990102-2026-000001",
        "status": "accepted",
        "external_ref": {"system": "hotline-12345", "id": "GD-1"},
        "feed": "hotline-12345",
        "tracked": True,
        "version": 3,
        **extra,
    }


def step(event_type: str, n: int, **data) -> Step:
    return Step(
        f"e{n}",
        event_type,
        {"case_id": "c-1", "case_no": "990102-2026-000001", **data},
        T0 + timedelta(minutes=n),
        n,
    )


ASSIGNED = step(
    subjects.CASE_ASSIGNED,
    1,
    lead_unit=UNIT,
    assisting_units=[],
    deadlines=[{"kind": "handling", "label": "办理", "due_at": "2026-07-03T09:00:00+00:00", "basis": "x"}],
    assigned_at=T0.isoformat(),
    place={"town": "990102001", "village": "990102001001"},
)


def kinds(owed) -> list[str]:
    for item in owed:
        validate_event(item.event.to_document())  # every feed event is valid against proto/
    return [item.subject for item in owed]


def test_an_assignment_is_kept_and_told_with_the_unit_and_time_limit() -> None:
    moved = advance(case(), [ASSIGNED], now=T0)
    assert moved.changes["assignment"]["lead_unit"] == {"code": UNIT["code"], "name": UNIT["name"]}
    assert moved.changes["assignment"]["place"] == {"town": "990102001", "village": "990102001001"}
    assert moved.changes["lifecycle"]["status"] == "assigned"
    assert kinds(moved.owed) == ["outcome.hotline-12345.case.assigned"]
    data = moved.owed[0].event.data
    assert data["due_at"] == "2026-07-03T09:00:00+00:00" and data["external_ref"]["id"] == "GD-1"
    assert moved.owed[0].event.time == ASSIGNED.at  # when it happened


def test_an_event_applied_before_changes_nothing_and_owes_nothing() -> None:
    first = advance(case(), [ASSIGNED], now=T0)
    again = advance(case(**first.changes), [ASSIGNED], now=T0)
    assert again.changes == {} and again.owed == []


def test_a_late_event_is_told_but_does_not_move_the_status_back() -> None:
    done = advance(
        case(),
        [ASSIGNED, step(subjects.CASE_REPLIED, 5, status="replied", result="resolved", note="已修复")],
        now=T0,
    )
    late = step(
        subjects.CASE_PROGRESSED, 3, status="in_progress", action="progress", note="正在维修", public=True
    )
    moved = advance(case(**done.changes), [late], now=T0)
    assert moved.changes["lifecycle"]["status"] == "replied"
    assert kinds(moved.owed) == ["outcome.hotline-12345.case.progressed"]


def test_texts_are_told_with_phone_and_id_numbers_masked() -> None:
    reply = step(
        subjects.CASE_REPLIED,
        2,
        status="replied",
        result="resolved",
        note="已修复，有问题请拨13812345678联系",
    )
    moved = advance(case(), [ASSIGNED, reply], now=T0)
    told = moved.owed[-1].event.data
    assert told["text"] == "已修复，有问题请拨138****5678联系"
    assert told["unit"] == {"code": UNIT["code"], "name": UNIT["name"]}
    assert "13812345678" not in str([o.event.to_document() for o in moved.owed])


def test_progress_is_told_only_when_the_unit_made_the_note_public() -> None:
    internal = step(
        subjects.CASE_PROGRESSED, 2, status="in_progress", action="progress", note="内部：待领导批示"
    )
    public = step(
        subjects.CASE_PROGRESSED, 3, status="in_progress", action="progress", note="已派人", public=True
    )
    moved = advance(case(), [ASSIGNED, internal, public], now=T0)
    notes = [o.event.data["note"] for o in moved.owed if o.subject.endswith(".case.progressed")]
    assert notes == ["已派人"]
    assert "待领导批示" not in str([o.event.to_document() for o in moved.owed])


def test_what_the_feed_does_not_tell_owes_nothing() -> None:
    steps = [
        step(subjects.CASE_PROGRESSED, 2, status="signed", action="assistance", units=["X"], note="请协办"),
        step(subjects.CASE_EXTENDED, 3, status="signed", action="extension_decision", approved=False, days=0),
    ]
    moved = advance(case(), steps, now=T0)
    assert moved.owed == [] and len(moved.changes["lifecycle"]["applied"]) == 2


def test_a_dissatisfied_rating_is_told_and_the_reopening_with_its_new_limit() -> None:
    reopened = step(
        subjects.CASE_REOPENED,
        4,
        status="reopened",
        rating="dissatisfied",
        handling_due_at="2026-08-01T00:00:00+00:00",
    )
    moved = advance(case(), [ASSIGNED, reopened], now=T0)
    assert kinds(moved.owed)[1:] == [
        "outcome.hotline-12345.case.rated",
        "outcome.hotline-12345.case.reopened",
    ]
    assert moved.owed[2].event.data["due_at"] == "2026-08-01T00:00:00+00:00"
    assert moved.changes["assignment"]["due_at"] == datetime(2026, 8, 1, tzinfo=UTC)


def test_a_case_nobody_outside_follows_keeps_only_its_latest_assignment() -> None:
    quiet = case(feed=None, tracked=False, assign_seq=7)
    older = advance(quiet, [ASSIGNED, step(subjects.CASE_CLOSED, 9, status="closed")], now=T0)
    assert older.changes == {} and older.owed == []  # the assignment noted is a later one (7 > 1)
    newer = advance(case(feed=None, tracked=False, assign_seq=0), [ASSIGNED], now=T0)
    assert set(newer.changes) == {"assignment", "assign_seq"} and newer.owed == []


def test_screening_tells_accepted_or_refused_with_the_reason_and_nothing_while_a_person_is_to_screen() -> (
    None
):
    accepted = feed.screened(
        case(), {"outcome": "accepted"}, feed="hotline-12345", by="rules", at=T0, cause="rules"
    )
    assert kinds(accepted) == ["outcome.hotline-12345.case.accepted"]
    refused = feed.screened(
        case(status="redirected"),
        {"outcome": "legal_redirect", "reason": "已进入诉讼程序"},
        feed="open311.app",
        by="person",
        at=T0,
        cause="manual|2",
    )
    assert kinds(refused) == ["outcome.open311.app.case.refused"]
    assert refused[0].event.data.items() >= {"outcome": "legal_redirect", "reason": "已进入诉讼程序"}.items()
    assert feed.screened(case(), {"outcome": "manual"}, feed="x", by="rules", at=T0, cause="rules") == []


def test_an_approved_extension_is_told_with_the_units_reason_not_the_supervisors_decision_note() -> None:
    by = {"subject": "u-1", "role": "unit_handler", "unit": UNIT["code"]}
    asked = step(
        subjects.CASE_PROGRESSED,
        2,
        status="signed",
        action="extension",
        by=by,
        note="需协调供电，电话13900001111",
    )
    approved = step(
        subjects.CASE_EXTENDED,
        3,
        status="signed",
        action="extension_decision",
        approved=True,
        days=10,
        note="同意",
        handling_due_at="2026-07-17T09:00:00+00:00",
    )
    moved = advance(case(), [ASSIGNED, asked, approved], now=T0)
    extended = next(o for o in moved.owed if o.subject.endswith(".case.extended"))
    assert extended.event.data["note"] == "需协调供电，电话139****1111"
    assert extended.event.data["due_at"] == "2026-07-17T09:00:00+00:00"
    # told once, even when the same steps arrive again
    again = advance(case(**moved.changes), [asked, approved], now=T0)
    assert again.owed == []
