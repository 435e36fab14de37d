"""Who hears of a leader's reception (pure, no servers): the petitioner of a booked case, with a video
reception's join link; the petitioner, the lead unit and the units the leader named of a decision.
Every event is checked against proto/ first, so the shapes are the producer's."""

from dispatch_common import subjects
from tests.unit.notify.test_mediation_notices import CASE, directory, event, plan  # noqa: F401 (fixture)

LEAD = {"code": "D-ZJJ", "name": "县住房和城乡建设局"}
NAMED = {"code": "T-ZF", "name": "某镇人民政府"}
LEADER = {"name": "李某", "post": "县委副书记"}
AT = "2026-03-02T06:00:00Z"
JOIN = "https://meet.county.example/j/1?pwd=x"


def booked(kind: str, status: str = "booked", **extra) -> object:
    data = {
        "case_id": "c1",
        "case_no": CASE["case_no"],
        "session_id": "RS-1",
        "booking_id": "RB-1",
        "status": status,
        "kind": kind,
        "leader": LEADER,
        "starts_at": AT,
        "place": extra.get("place"),
        "join_link": extra.get("join_link"),
        "at": AT,
    }
    return event(subjects.RECEPTION_BOOKED, data)


def test_a_video_booking_sends_the_petitioner_the_join_link(directory):  # noqa: F811
    got, _, texts = plan(booked("video", join_link=JOIN), directory)
    assert got == [("reception_booking", "petitioner", "sms")]
    sms = texts[("petitioner", "sms")]
    assert JOIN in sms and "2026年03月02日 14:00" in sms and "视频接访" in sms
    got, _, texts = plan(booked("reception", place="县信访接待大厅"), directory)
    assert "县信访接待大厅" in texts[("petitioner", "sms")] and "https" not in texts[("petitioner", "sms")]
    got, _, texts = plan(booked("video", "rescheduled", join_link=JOIN), directory)
    assert "改为2026年03月02日 14:00" in texts[("petitioner", "sms")] and JOIN in texts[("petitioner", "sms")]
    got, _, texts = plan(booked("video", "cancelled", join_link=JOIN), directory)
    assert "取消" in texts[("petitioner", "sms")] and JOIN not in texts[("petitioner", "sms")]


def test_a_decision_is_told_to_the_petitioner_the_lead_unit_and_the_units_named(directory):  # noqa: F811
    data = {
        "case_id": "c1",
        "case_no": CASE["case_no"],
        "session_id": "RS-1",
        "reception_id": "RR-1",
        "kind": "visit_with_cases",
        "leader": LEADER,
        "instructions": "镇政府牵头十日内答复",
        "holding": True,
        "units": [NAMED],
        "due_at": "2026-03-12T06:00:00Z",
        "at": AT,
        "by": {"subject": "s", "role": "county_leader", "unit": None},
    }
    got, _, texts = plan(event(subjects.RECEPTION_DECIDED, data), directory, CASE | {"lead_unit": LEAD})
    assert [(k, r) for k, r, _ in got if _ == "inbox"] == [
        ("reception_decision", "unit:D-ZJJ"),
        ("reception_decision", "unit:T-ZF"),
    ]
    assert ("reception_decision", "petitioner", "sms") in got
    assert "包案" in texts[("petitioner", "sms")] and "2026年03月12日" in texts[("petitioner", "sms")]
    assert "镇政府牵头十日内答复" in texts[("unit:T-ZF", "inbox")]
