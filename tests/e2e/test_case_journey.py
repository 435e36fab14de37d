"""One case, end to end, through the five running services."""

import json
import secrets
from datetime import datetime

import pytest

from dispatch_common.county import ConfidentialRules
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from tests.e2e.flow import SCREENED_OUT, SETTLED, settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e

PHONE = "13812345678"
CONFIDENTIAL = ConfidentialRules.load(DEFAULT_COUNTY_DIR)


def located(samples):
    return [s for s in samples if s["expect"].get("town")]


def is_report(sample) -> bool:
    """A report against officials (检举控告): routed to the discipline inspection, placed nowhere
    (tests/e2e/test_confidential_reports.py), and seen only by the roles the package names."""
    return sample["expect"].get("subcategory") == CONFIDENTIAL.subcategory


def test_a_sample_case_reaches_assigned_with_the_right_town_and_village(clerk, as_role, samples):
    supervisor = as_role("supervisor")  # county-wide, and a reader of confidential reports
    for sample in located(samples):
        r = clerk.post("intake", "/v1/cases", json=submission(sample))
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "accepted" and created["case_no"].count("-") == 2
        case = settled_case_file(supervisor, created["case_id"])
        expect = sample["expect"]
        assert case["case_no"] == created["case_no"]
        if is_report(sample):
            assert (
                case["jurisdiction"]["town"] is None and case["lead_unit"]["type"] in CONFIDENTIAL.unit_types
            )
            continue
        assert case["jurisdiction"]["town"] == expect["town"], sample["id"]
        assert case["jurisdiction"]["village"] == expect["village"], sample["id"]
        assert case["status"] == "assigned", (sample["id"], case.get("manual_reason"))
        assert case["lead_unit"]["code"]
        kinds = {d["kind"] for d in case["deadlines"]}
        assert {"acceptance_notice", "handling"} <= kinds
        assert all(d["remaining_seconds"] > 0 for d in case["deadlines"])


def test_a_case_without_a_location_goes_to_the_manual_queue_never_to_a_guessed_town(
    clerk, dispatcher, samples
):
    flags = [s["expect"]["flags"] for s in samples]
    manual = [s for s, f in zip(samples, flags, strict=True) if "manual" in f and "legal_redirect" not in f]
    assert manual  # a court matter is redirected at screening instead (tests/e2e/test_intake.py)
    routed = 0
    for sample in manual:
        created = clerk.post("intake", "/v1/cases", json=submission(sample)).json()
        if created["status"] == "answered":  # a consultation the knowledge base answers never needs a place
            assert sample["channel"] == "hotline_12345", sample["id"]
            continue
        assert created["status"] == "accepted", sample["id"]
        routed += 1
        case = settled_case_file(dispatcher, created["case_id"])
        assert case["status"] == "manual_dispatch", sample["id"]
        assert case["jurisdiction"]["town"] is None and case["lead_unit"] is None
        assert case["manual_reason"]
    assert routed


def test_the_case_file_timeline_holds_every_event_in_order(clerk, dispatcher, samples):
    sample = located(samples)[0]
    created = clerk.post(
        "intake", "/v1/cases", json=submission(sample, petitioner={"anonymous": True})
    ).json()
    settled_case_file(dispatcher, created["case_id"])

    def timeline_complete():
        case = dispatcher.get("supervision", f"/v1/cases/{created['case_id']}").json()
        types = [e["type"] for e in case["timeline"]]
        return case if {"dispatch.case.assigned", "dispatch.notification.sent"} <= set(types) else None

    case = wait_for(timeline_complete, what="assignment and notice on the timeline")
    types = [e["type"] for e in case["timeline"]]
    assert types.index("dispatch.case.received") < types.index("dispatch.case.screened")
    assert types.index("dispatch.case.screened") < types.index("dispatch.case.routed")
    assert types.index("dispatch.case.routed") < types.index("dispatch.case.assigned")
    # Compare instants, not strings: an event at a whole second is written without a fraction.
    times = [datetime.fromisoformat(e["time"]) for e in case["timeline"]]
    assert times == sorted(times)
    assert len(set(e["event_id"] for e in case["timeline"])) == len(types)


def test_the_petitioner_is_told_of_acceptance_by_sms_or_inbox(clerk, dispatcher, samples):
    sample = located(samples)[0]
    with_phone = clerk.post(
        "intake", "/v1/cases", json=submission(sample, petitioner={"name": "王五", "phone": PHONE})
    ).json()
    anonymous = clerk.post(
        "intake", "/v1/cases", json=submission(sample, petitioner={"anonymous": True})
    ).json()

    def notices(case_id, kind="acceptance"):
        items = dispatcher.get("notify", "/v1/notifications", params={"case_id": case_id}).json()["items"]
        return [n for n in items if n["kind"] == kind] or None

    sms = wait_for(lambda: notices(with_phone["case_id"]), what="the SMS acceptance notice")
    assert [(n["kind"], n["channel"], n["status"]) for n in sms] == [("acceptance", "sms", "queued")]
    assert sms[0]["recipient"] == "138****5678" and PHONE not in json.dumps(sms)
    assert with_phone["case_no"] in sms[0]["body"]

    inbox = wait_for(lambda: notices(anonymous["case_id"]), what="the inbox acceptance notice")
    assert [(n["kind"], n["channel"], n["status"]) for n in inbox] == [("acceptance", "inbox", "sent")]
    assert inbox[0]["channel_reason"] == "anonymous petitioner"

    # the second feedback: the assignment, to the petitioner and to the unit that has the case
    assigned = wait_for(lambda: notices(with_phone["case_id"], "assignment"), what="the assignment notices")
    assert all(PHONE not in json.dumps(n) for n in assigned)


def test_a_civil_dispute_opens_a_mediation_with_the_village_committee(clerk, dispatcher, samples, units):
    sample = next(s for s in located(samples) if "mediation" in s["expect"]["flags"])
    created = clerk.post("intake", "/v1/cases", json=submission(sample)).json()
    settled_case_file(dispatcher, created["case_id"])

    def mediations():
        r = dispatcher.get("mediation", "/v1/mediations", params={"case_id": created["case_id"]})
        return r.json()["items"] or None

    items = wait_for(mediations, what="the mediation record")
    committee = next(
        u
        for u in units
        if u["type"] == "mediation_committee" and u["jurisdiction"] == sample["expect"]["village"]
    )
    assert len(items) == 1
    assert items[0]["organization"]["code"] == committee["code"]
    assert (items[0]["type"], items[0]["status"]) == ("people", "opened")
    one = dispatcher.get("mediation", f"/v1/mediations/{items[0]['id']}")
    assert one.status_code == 200 and one.json()["case_id"] == created["case_id"]


def test_one_trace_covers_the_spans_of_all_five_services(stack, clerk, dispatcher, samples):
    sample = next(s for s in located(samples) if "mediation" in s["expect"]["flags"])
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    created = clerk.post(
        "intake",
        "/v1/cases",
        headers={"traceparent": traceparent},
        json=submission(sample, petitioner={"anonymous": True}),
    ).json()
    settled_case_file(dispatcher, created["case_id"])

    spans: list[dict] = []

    def services_in_trace():
        spans.clear()
        for path in (stack.run_dir / "traces").glob("*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                span = json.loads(line)
                if span["trace_id"] == trace_id:
                    spans.append(span)
        seen = {s["service"] for s in spans}
        return seen if len(seen) == 5 else None

    try:
        seen = wait_for(services_in_trace, what="spans of all five services in one trace")
    except AssertionError as exc:
        names = sorted(f"{s['service']}: {s['name']}" for s in spans)
        raise AssertionError(f"{exc}; spans in the trace: {names}") from exc
    assert seen == {"intake", "routing", "mediation", "supervision", "notify"}


def test_routing_explains_its_decision_and_previews_without_storing(clerk, dispatcher, samples):
    sample = located(samples)[0]
    created = clerk.post("intake", "/v1/cases", json=submission(sample)).json()
    settled_case_file(dispatcher, created["case_id"])
    route = dispatcher.get("routing", f"/v1/routes/{created['case_id']}").json()
    for key in (
        "jurisdiction",
        "category",
        "flags",
        "lead_unit",
        "assisting_units",
        "tier",
        "queue",
        "explanation",
    ):
        assert key in route
    assert route["explanation"] and route["queue"] == "auto"
    preview = dispatcher.post("routing", "/v1/routes/preview", json=submission(sample)).json()
    assert preview["jurisdiction"] == route["jurisdiction"] and preview["category"] == route["category"]


def test_every_event_on_the_stream_follows_proto(stack, clerk, as_role, samples):
    import asyncio

    import nats

    from tests.helpers import events_on

    supervisor = as_role("supervisor")  # sees confidential reports too
    for sample in samples:
        created = clerk.post("intake", "/v1/cases", json=submission(sample)).json()
        settled_case_file(supervisor, created["case_id"], statuses=SETTLED | SCREENED_OUT)

    async def read_all():
        nc = await nats.connect(**stack.nats_options())
        try:
            return await events_on(nc, "dispatch.>")  # each is validated against proto/ as it is read
        finally:
            await nc.drain()

    events = asyncio.run(read_all())
    produced = {(e["type"], e["source"]) for e in events}
    assert {
        ("dispatch.case.received", "/dispatch/intake"),
        ("dispatch.case.screened", "/dispatch/intake"),
        ("dispatch.case.routed", "/dispatch/routing"),
        ("dispatch.case.assigned", "/dispatch/supervision"),
        ("dispatch.mediation.opened", "/dispatch/mediation"),
        ("dispatch.notification.sent", "/dispatch/notify"),
    } <= produced
    assert len({e["id"] for e in events}) == len(events)
