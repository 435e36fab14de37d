"""A leader's reception day through the running platform (docs/reception.md): the calendar, bookings
under capacity, a walk-in, a video reception's join link by SMS, the leader's decision on the case
(领导包案, a time limit, notices to the units and the petitioner), 带案下访's case list, the figures,
and the roles refused."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.e2e.flow import settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e

PHONE = "13912345678"
JOIN = "https://meet.county.example/j/7788?pwd=reception"


def _case(clerk, dispatcher, sample, **petitioner) -> dict:
    body = submission(sample, channel="petition_letter", petitioner={"name": "接访人", **petitioner})
    r = clerk.post("intake", "/v1/cases", json=body)
    assert r.status_code == 201, r.text
    case = settled_case_file(dispatcher, r.json()["case_id"])
    assert case["status"] == "assigned", case
    return case


def _located(samples) -> list[dict]:
    return [s for s in samples if s["expect"].get("town") and not s["expect"]["flags"]]


def _session(leader_id: str, kind: str = "video", **fields) -> dict:
    start = datetime.now(UTC) + timedelta(days=1)
    body = {
        "leader": {"id": leader_id, "name": "李某", "post": "县委副书记"},
        "kind": kind,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "topics": ["征地拆迁", "劳资纠纷"],
        "capacity": 1,
    }
    if kind == "video":
        body |= {"meeting_link": "https://meet.county.example/host/7788", "join_link": JOIN}
    return body | fields


def _notices(api, case_id: str, kind: str) -> list[dict] | None:
    items = api.get("notify", "/v1/notifications", params={"case_id": case_id}).json()["items"]
    return [n for n in items if n["kind"] == kind] or None


def test_a_reception_day_from_booking_to_decisions_on_the_case(clerk, dispatcher, as_role, samples, units):
    office = as_role("county_leader")
    leader_id = f"leader-{uuid.uuid4().hex[:8]}"
    sample = _located(samples)[0]
    booked = _case(clerk, dispatcher, sample, phone=PHONE)
    other = _case(clerk, dispatcher, sample)

    # a video reception without its meeting link is refused, field by field
    bad = _session(leader_id)
    del bad["meeting_link"], bad["join_link"]
    r = office.post("supervision", "/v1/reception/sessions", json=bad)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "meeting_link"], r.text

    r = office.post("supervision", "/v1/reception/sessions", json=_session(leader_id))
    assert r.status_code == 201, r.text
    session = r.json()
    sid, etag = session["session_id"], r.headers["ETag"]
    assert session["status"] == "planned" and session["places_left"] == 1

    listed = clerk.get("supervision", "/v1/reception/sessions", params={"leader": leader_id, "kind": "video"})
    assert [s["session_id"] for s in listed.json()["items"]] == [sid]

    # the one place is booked; the next booking is refused (409, a problem); a case is not booked twice
    r = clerk.post(
        "supervision", f"/v1/reception/sessions/{sid}/bookings", json={"case_id": booked["case_id"]}
    )
    assert r.status_code == 200 and r.json()["places_left"] == 0, r.text
    r = clerk.post(
        "supervision", f"/v1/reception/sessions/{sid}/bookings", json={"case_id": other["case_id"]}
    )
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert "full" in r.json()["detail"]
    r = clerk.post(
        "supervision", f"/v1/reception/sessions/{sid}/bookings", json={"case_id": booked["case_id"]}
    )
    assert r.status_code == 409 and "already" in r.json()["detail"]

    # a change from a version gone by changes nothing (412); from the current one it is made
    stale = office.client.patch(
        office.url("supervision", f"/v1/reception/sessions/{sid}"),
        json={"capacity": 3},
        headers={"If-Match": etag},
    )
    assert stale.status_code == 412, stale.text
    r = office.get("supervision", f"/v1/reception/sessions/{sid}")
    r = office.client.patch(
        office.url("supervision", f"/v1/reception/sessions/{sid}"),
        json={"capacity": 3},
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200 and r.json()["capacity"] == 3 and r.json()["places_left"] == 2

    # the petitioner of the booked case gets the join link by SMS (masked number, no clear phone)
    sms = wait_for(
        lambda: _notices(dispatcher, booked["case_id"], "reception_booking"), what="the join link SMS"
    )
    assert [(n["channel"], n["recipient"]) for n in sms] == [("sms", "139****5678")]
    assert JOIN in sms[0]["body"] and PHONE not in json.dumps(sms)

    # the office moves the meeting to another link: the booked petitioner is told the new one
    moved = JOIN.replace("7788", "7799")
    current = office.get("supervision", f"/v1/reception/sessions/{sid}").headers["ETag"]
    r = office.client.patch(
        office.url("supervision", f"/v1/reception/sessions/{sid}"),
        json={"join_link": moved},
        headers={"If-Match": current},
    )
    assert r.status_code == 200, r.text

    def told_again():
        found = _notices(dispatcher, booked["case_id"], "reception_booking") or []
        return [n for n in found if moved in n["body"]] or None

    again = wait_for(told_again, what="the new join link")
    assert "改为" in again[0]["body"]

    # the other petitioner walks in: registered at the session, then received without a decision
    r = clerk.post(
        "supervision", f"/v1/reception/sessions/{sid}/walk-ins", json={"case_id": other["case_id"]}
    )
    assert r.status_code == 200, r.text
    assert [b["walk_in"] for b in r.json()["bookings"] if b["case_id"] == other["case_id"]] == [True]

    # the leader decides on the booked case: holds it, names another unit, ten days to reply
    named = next(u["code"] for u in units if u["code"] != booked["lead_unit"]["code"])
    decision = {
        "instructions": "请承办单位会同相关部门十日内拿出解决方案并答复信访人",
        "holding": True,
        "units": [named],
        "time_limit_days": 10,
    }
    r = office.post(
        "supervision",
        f"/v1/reception/sessions/{sid}/receptions",
        json={"case_id": booked["case_id"], "people": 2, "decision": decision},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "held"
    assert [b["status"] for b in r.json()["bookings"] if b["case_id"] == booked["case_id"]] == ["received"]
    r = office.post(
        "supervision",
        f"/v1/reception/sessions/{sid}/receptions",
        json={"case_id": other["case_id"], "people": 1},
    )
    assert r.status_code == 200, r.text
    stranger = _case(clerk, dispatcher, sample)
    r = office.post(
        "supervision", f"/v1/reception/sessions/{sid}/receptions", json={"case_id": stranger["case_id"]}
    )
    assert r.status_code == 409 and "not on this session" in r.json()["detail"]

    case = dispatcher.get("supervision", f"/v1/cases/{booked['case_id']}").json()
    assert case["leader_holding"]["leader"] == "李某（县委副书记）"
    limit = next(d for d in case["deadlines"] if d["kind"] == "leader_time_limit")
    assert limit["met_at"] is None and 9 * 86400 < limit["remaining_seconds"] <= 10 * 86400

    def on_timeline():
        types = [
            e["type"]
            for e in dispatcher.get("supervision", f"/v1/cases/{booked['case_id']}").json()["timeline"]
        ]
        return {"dispatch.reception.booked", "dispatch.reception.decided", "dispatch.case.supervised"} <= set(
            types
        )

    wait_for(on_timeline, what="the reception on the case's timeline")

    def told():
        found = _notices(dispatcher, booked["case_id"], "reception_decision") or []
        return found if len(found) >= 3 else None  # the petitioner, the lead unit, the unit named

    decided = wait_for(told, what="the decision's notices")
    channels = sorted(n["channel"] for n in decided)
    assert channels.count("sms") == 1 and channels.count("inbox") >= 2, decided
    petitioner = next(n for n in decided if n["channel"] == "sms")
    assert "包案" in petitioner["body"] and booked["case_no"] in petitioner["body"]
    unit_inbox = as_role("unit_handler", named).get("notify", "/v1/inbox").json()["items"]
    assert any(booked["case_no"] in m["body"] and "领导交办" in m["body"] for m in unit_inbox)

    # the figures of this leader's day: one session held, three people received, one case decided...
    today = date.today()
    period = {"from": today.isoformat(), "to": (today + timedelta(days=3)).isoformat(), "leader": leader_id}
    figures = clerk.get("supervision", "/v1/reception/figures", params=period).json()["leaders"]
    row = {k: v for k, v in figures[0].items() if k != "leader"}
    assert row == {
        "sessions_planned": 1,
        "sessions_held": 1,
        "people_received": 3,
        "cases_decided": 1,
        "cases_resolved_after": 0,
    }
    # ...and resolved afterwards once the unit replies 已解决, which also meets the leader's time limit
    unit = as_role("unit_handler", booked["lead_unit"]["code"])
    assert unit.post("supervision", f"/v1/cases/{booked['case_id']}/sign", json={}).status_code == 200
    r = unit.post(
        "supervision", f"/v1/cases/{booked['case_id']}/reply", json={"result": "resolved", "text": "已解决。"}
    )
    assert r.status_code == 200, r.text
    limit = next(d for d in r.json()["deadlines"] if d["kind"] == "leader_time_limit")
    assert limit["met_at"] is not None
    figures = clerk.get("supervision", "/v1/reception/figures", params=period).json()["leaders"]
    assert figures[0]["cases_resolved_after"] == 1


def test_a_visit_with_cases_takes_the_towns_open_cases(clerk, dispatcher, as_role, samples):
    office = as_role("county_leader")
    sample = _located(samples)[0]
    case = _case(clerk, dispatcher, sample)
    town = case["jurisdiction"]["town"]
    elsewhere = next((s for s in _located(samples) if s["expect"]["town"] != sample["expect"]["town"]), None)
    body = _session(f"leader-{uuid.uuid4().hex[:8]}", "visit_with_cases", town=town, place="镇政府会议室")
    r = office.post("supervision", "/v1/reception/sessions", json=body)
    assert r.status_code == 201, r.text
    sid = r.json()["session_id"]

    def listed():
        items = clerk.get("supervision", f"/v1/reception/sessions/{sid}/open-cases", params={"limit": 200})
        ids = [i["case_id"] for i in items.json()["items"]]
        return ids if case["case_id"] in ids else None

    ids = wait_for(listed, what="the town's open case in the list")
    assert all(i for i in ids)
    put = office.client.put(
        office.url("supervision", f"/v1/reception/sessions/{sid}/cases"), json={"case_ids": [case["case_id"]]}
    )
    assert put.status_code == 200, put.text
    assert [c["case_id"] for c in put.json()["cases_taken"]] == [case["case_id"]]
    if elsewhere is not None:
        far = _case(clerk, dispatcher, elsewhere)
        put = office.client.put(
            office.url("supervision", f"/v1/reception/sessions/{sid}/cases"),
            json={"case_ids": [case["case_id"], far["case_id"]]},
        )
        assert put.status_code == 422 and put.json()["errors"][0]["loc"] == ["body", "case_ids", 1], put.text
    # a case taken along is received at the visit without a booking
    r = office.post(
        "supervision",
        f"/v1/reception/sessions/{sid}/receptions",
        json={
            "case_id": case["case_id"],
            "decision": {"instructions": "镇政府牵头办理", "time_limit_days": 5},
        },
    )
    assert r.status_code == 200 and r.json()["receptions"][0]["taken_along"] is True, r.text


def test_the_roles_that_may_not_plan_book_or_decide_are_refused(clerk, as_role):
    body = _session(f"leader-{uuid.uuid4().hex[:8]}")
    for role in ("reception_clerk", "unit_handler", "dispatcher", "mediator"):
        assert as_role(role).post("supervision", "/v1/reception/sessions", json=body).status_code == 403, role
    r = as_role("supervisor").post("supervision", "/v1/reception/sessions", json=body)
    assert r.status_code == 201
    sid = r.json()["session_id"]
    for role in ("county_leader", "unit_handler", "auditor"):
        r = as_role(role).post("supervision", f"/v1/reception/sessions/{sid}/bookings", json={"case_id": "x"})
        assert r.status_code == 403, role
    r = clerk.post("supervision", f"/v1/reception/sessions/{sid}/receptions", json={"case_id": "x"})
    assert r.status_code == 403
    assert as_role("unit_handler").get("supervision", "/v1/reception/figures").status_code == 403


def test_clerks_racing_for_the_last_place_get_it_once_and_the_calendar_pages(
    clerk, dispatcher, as_role, samples
):
    office = as_role("county_leader")
    leader_id = f"leader-{uuid.uuid4().hex[:8]}"
    sample = _located(samples)[0]
    cases = [_case(clerk, dispatcher, sample) for _ in range(4)]
    sid = office.post("supervision", "/v1/reception/sessions", json=_session(leader_id)).json()["session_id"]
    url = clerk.url("supervision", f"/v1/reception/sessions/{sid}/bookings")
    clerks = [as_role("reception_clerk") for _ in cases]  # one connection each

    def book(pair) -> int:
        who, case = pair
        return who.client.post(url, json={"case_id": case["case_id"]}).status_code

    with ThreadPoolExecutor(len(cases)) as pool:
        statuses = sorted(pool.map(book, zip(clerks, cases, strict=True)))
    assert statuses == [200, 409, 409, 409]
    session = clerk.get("supervision", f"/v1/reception/sessions/{sid}").json()
    assert len(session["bookings"]) == 1 and session["places_left"] == 0

    second = _session(leader_id, "reception", place="县信访接待大厅")
    later = datetime.fromisoformat(second["starts_at"]) + timedelta(days=1)
    second |= {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()}
    assert office.post("supervision", "/v1/reception/sessions", json=second).status_code == 201
    first = clerk.get(
        "supervision", "/v1/reception/sessions", params={"leader": leader_id, "limit": 1}
    ).json()
    assert [s["session_id"] for s in first["items"]] == [sid] and first["next_cursor"]
    rest = clerk.get(
        "supervision",
        "/v1/reception/sessions",
        params={"leader": leader_id, "limit": 1, "cursor": first["next_cursor"]},
    ).json()
    assert [s["kind"] for s in rest["items"]] == ["reception"] and rest["next_cursor"] is None
