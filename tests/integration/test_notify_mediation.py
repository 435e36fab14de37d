"""Notify on mediation's events, with the real mediation service beside it on the same nats-server
and MongoDB server: a dispute that grows and a counselling crisis reach the police station of the
place at once, also at night; a fulfilment check and each step of a referral reach the organization,
the receiving center and the petitioner; a mediation moved to another organization reaches the new
organization and the one it left, and its time limit passed reminds the new one. Each message is
recorded once: the same event delivered again (its consumer's inbox mark gone, as after a crash before
the acknowledgement) adds nothing."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.notify_fakes import screened
from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.paths import DATA_DIR
from tests.helpers import events_on, eventually
from tests.mediation_cases import (
    COUNSELLING,
    LABOUR_MEDIATION,
    LEGAL_AID,
    POLICE_STATION,
    RULES,
    VILLAGE_COMMITTEE,
)
from tests.mediation_support import case_no_of, opened_by_routing, start_mediation
from tests.notify_support import Harness, start_notify, stop_notify

pytestmark = pytest.mark.integration
PHONE = "13812345678"
POLICE_PHONE = "13900003333"
LABOUR_PHONE = "13900005555"
NIGHT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 22:00 in the county, within the quiet hours
MORNING = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in the county, when they end
DAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in the county


def recipients_with_police(tmp_path: Path) -> Path:
    """The demo recipients file, the police station of the test's place reachable by SMS, and the
    labour dispute committee texted when a mediation is moved to it or passes its time limit."""
    data = json.loads((DATA_DIR / "notify" / "recipients.json").read_text(encoding="utf-8"))
    by_sms = {kind: ["inbox", "sms"] for kind in ("mediation_assigned", "mediation_overdue")}
    data["units"] = {
        POLICE_STATION: {"phone": POLICE_PHONE, "channels": ["inbox", "sms"]},
        LABOUR_MEDIATION: {"phone": LABOUR_PHONE, "by_kind": by_sms},
    }
    path = tmp_path / "recipients_with_police.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
async def stack(servers, db_prefix, runtimes):
    """Start mediation and notify (notify's clock at `at`, quiet hours 21:00-08:00)."""
    started: list[Harness] = []

    async def start(at: datetime):
        mediation = await start_mediation(
            nats_url=servers["nats_url"],
            mongodb_url=servers["mongodb_url"],
            db_prefix=db_prefix,
            run_dir=servers["run_dir"],
        )
        runtimes.append(mediation.med.runtime)
        notify = await start_notify(
            **servers,
            clock=FixedClock(at),
            quiet_hours="21:00-08:00",
            recipients_file=recipients_with_police(servers["tmp_path"]),
        )
        started.append(notify)
        return mediation, notify

    yield start
    for notify in started:
        await stop_notify(notify)


def told(docs: list[dict], kinds: set[str]) -> list[tuple[str, str, str]]:
    """The messages of some kinds as (kind, recipient, channel), sorted."""
    return sorted((d["kind"], d["recipient_key"], d["channel"]) for d in docs if d["kind"] in kinds)


async def of_case(n: Harness, case_id: str, kinds: set[str], count: int) -> list[dict]:
    """Wait until a case has `count` messages of these kinds, each sent or (the petitioner's SMS at
    night) waiting for the morning."""

    async def probe():
        docs = [d for d in await n.messages(case_id) if d["kind"] in kinds]
        settled = all(d["status"] in ("sent", "queued") for d in docs)
        return docs if len(docs) == count and settled else None

    return await eventually(probe, what=f"{count} messages of {sorted(kinds)} for {case_id}")


async def redeliver(n: Harness, event: dict) -> None:
    """Deliver an event to notify again as if it had crashed before acknowledging it: a copy (another
    Nats-Msg-Id) is published; wait until it is handled. Notify keeps no inbox of processed events:
    what the copy owes is recorded under the same ids, so it records nothing new."""
    js = n.nc.jetstream()
    ack = await js.publish(
        event["type"],
        json.dumps(event).encode(),
        headers={"Nats-Msg-Id": f"again-{event['id']}"},
        stream="DISPATCH",
    )

    async def handled() -> bool:
        info = await js.consumer_info("DISPATCH", subjects.NOTIFY_EVENTS)
        return info.ack_floor.stream_seq >= ack.seq

    await eventually(handled, what=f"the copy of {event['type']} handled")


async def published(nc, subject: str, case_id: str, count: int = 1) -> list[dict]:
    async def probe():
        found = [e for e in await events_on(nc, subject) if e["subject"] == case_id]
        return found if len(found) >= count else None

    return await eventually(probe, what=f"{subject} of {case_id}")


async def test_a_growing_dispute_and_a_crisis_reach_the_police_station_at_once_even_at_night(
    stack, nats_client
):
    m, n = await stack(NIGHT)
    case_id = "police-1"
    await n.publish(screened(case_id, case_no_of(case_id), **n.contact(PHONE, case_id)))
    mid = (await opened_by_routing(m, case_id))["id"]
    async with m.client("mediator", VILLAGE_COMMITTEE) as mediator, m.client("dispatcher") as dispatcher:
        body = {"reason": "一方扬言报复，围观人员增多", "threats": True, "people_count": 6}
        assert (await mediator.post(f"/v1/mediations/{mid}/escalate", json=body)).status_code == 200
        crisis = {
            "case_id": case_id,
            "kind": "counselling",
            "risk_level": "crisis",
            "reason": "当事人称要轻生",
        }
        assert (await dispatcher.post("/v1/referrals", json=crisis)).status_code == 201

    alerts = {"mediation_escalation", "counselling_crisis"}
    docs = await of_case(n, case_id, alerts, 6)
    police = f"unit:{POLICE_STATION}"
    assert told(docs, alerts) == [
        ("counselling_crisis", f"unit:{COUNSELLING}", "inbox"),
        ("counselling_crisis", police, "inbox"),
        ("counselling_crisis", police, "sms"),
        ("mediation_escalation", police, "inbox"),
        ("mediation_escalation", police, "sms"),
        ("mediation_escalation", f"unit:{VILLAGE_COMMITTEE}", "inbox"),
    ]
    # urgent: the police station's SMS went through the gateway at 22:00; the petitioner's waits
    await eventually(lambda: _sent(n, case_id, police, "sms", 2), what="both SMS to the police station")
    assert [r.body["to"] for r in n.gateway.requests] == [POLICE_PHONE, POLICE_PHONE]
    waiting = [d for d in await n.messages(case_id) if d["recipient_key"] == "petitioner"]
    assert waiting and all(d["status"] == "queued" for d in waiting)
    assert {d["due_ts"] for d in waiting} == {int(MORNING.timestamp() * 1000)}
    station = RULES.directory.units[POLICE_STATION]["name"]  # the police station of the case's town

    # the police station reads both in its inbox
    async with n.api("unit_handler", unit=POLICE_STATION) as client:
        inbox = [i for i in (await client.get("/v1/inbox")).json()["items"] if i["case_id"] == case_id]
    assert sorted(i["kind"] for i in inbox) == sorted(alerts) and all(i["urgent"] for i in inbox)
    assert all(station in i["body"] for i in inbox)

    # delivered again, each event adds no message and no SMS
    before = sorted(d["_id"] for d in await n.messages(case_id))
    for subject in (subjects.MEDIATION_ESCALATED, subjects.REFERRAL_CRISIS):
        [event] = await published(nats_client, subject, case_id)
        await redeliver(n, event)
    assert sorted(d["_id"] for d in await n.messages(case_id)) == before
    assert len(n.gateway.requests) == 2


async def _sent(n: Harness, case_id: str, key: str, channel: str, count: int) -> bool:
    docs = await n.messages(case_id)
    return (
        len([d for d in docs if (d["recipient_key"], d["channel"], d["status"]) == (key, channel, "sent")])
        == count
    )


async def test_the_fulfilment_check_and_each_step_of_a_referral_are_told_once(stack, nats_client):
    m, n = await stack(DAY)
    case_id = "referral-1"
    await n.publish(screened(case_id, case_no_of(case_id), **n.contact(PHONE, case_id)))
    mid = (await opened_by_routing(m, case_id))["id"]
    async with m.client("mediator", VILLAGE_COMMITTEE) as mediator:
        parties = [
            {"role": "applicant", "name": "张三", "consent": True},
            {"role": "respondent", "name": "李四", "consent": True},
        ]
        assert (
            await mediator.post(f"/v1/mediations/{mid}/consent", json={"parties": parties})
        ).status_code == 200
        held = {"start_at": m.clock.now().isoformat(), "place": "调解室", "record": {"summary": "当场调解"}}
        assert (await mediator.post(f"/v1/mediations/{mid}/sessions", json=held)).status_code == 201
        agreement = {
            "result": "agreed",
            "facts": "拖欠工钱",
            "terms": ["李四三日内支付"],
            "fulfilment_method": "现金",
            "fulfilment_due": (m.clock.now() + timedelta(days=3)).date().isoformat(),
        }
        assert (await mediator.post(f"/v1/mediations/{mid}/outcome", json=agreement)).status_code == 200
    m.clock.advance(timedelta(days=5))  # the scanner finds the fulfilment date passed without a check
    await published(nats_client, subjects.MEDIATION_FULFILMENT_DUE, case_id)
    async with m.client("dispatcher") as dispatcher, m.client("unit_handler", LEGAL_AID) as center:
        body = {"case_id": case_id, "kind": "legal_aid", "reason": "对方未履行协议", "matter_type": "labour"}
        r = await dispatcher.post("/v1/referrals", json=body)
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        assert (await center.post(f"/v1/referrals/{rid}/accept", json={})).status_code == 200
        closed = {"result": "resolved", "note": "已指派律师，对方已付清"}
        assert (await center.post(f"/v1/referrals/{rid}/close", json=closed)).status_code == 200

    kinds = {"mediation_fulfilment", "referral_made", "referral_accepted", "referral_closed"}
    docs = await of_case(n, case_id, kinds, 6)
    assert told(docs, kinds) == [
        ("mediation_fulfilment", "petitioner", "sms"),
        ("mediation_fulfilment", f"unit:{VILLAGE_COMMITTEE}", "inbox"),
        ("referral_accepted", "petitioner", "sms"),
        ("referral_closed", "petitioner", "sms"),
        ("referral_made", "petitioner", "sms"),
        ("referral_made", f"unit:{LEGAL_AID}", "inbox"),
    ]
    closed_sms = next(d for d in docs if d["kind"] == "referral_closed")
    assert "已解决" in closed_sms["body"] and not closed_sms["urgent"]

    async def all_sent():
        docs = await n.messages(case_id)
        return docs if all(d["status"] == "sent" for d in docs) else None

    docs = await eventually(all_sent, what="every message of the case sent")
    sms = {d["_id"] for d in docs if d["channel"] == "sms"}
    assert set(Counter(r.key for r in n.gateway.requests)) == sms
    before = (sorted(d["_id"] for d in docs), len(n.gateway.requests))
    for subject in (
        subjects.MEDIATION_FULFILMENT_DUE,
        subjects.REFERRAL_MADE,
        subjects.REFERRAL_ACCEPTED,
        subjects.REFERRAL_CLOSED,
    ):
        [event] = await published(nats_client, subject, case_id)
        await redeliver(n, event)
    after = (sorted(d["_id"] for d in await n.messages(case_id)), len(n.gateway.requests))
    assert after == before and len(n.gateway.delivered) == len(sms)


async def test_a_mediation_moved_to_another_organization_and_past_its_time_limit_is_told_once(
    stack, nats_client
):
    m, n = await stack(DAY)
    case_id = "moved-1"
    await n.publish(screened(case_id, case_no_of(case_id), **n.contact(PHONE, case_id)))
    opened = await opened_by_routing(m, case_id)
    mid = opened["id"]
    assert opened["organization"]["code"] == VILLAGE_COMMITTEE
    async with m.client("dispatcher") as dispatcher:
        body = {"organization": LABOUR_MEDIATION, "reason": "属劳动争议，改由劳动争议调解委员会调解"}
        r = await dispatcher.post(f"/v1/mediations/{mid}/assign", json=body)
        assert r.status_code == 200, r.text
    await published(nats_client, subjects.MEDIATION_ASSIGNED, case_id)
    # the scanner (every 0.2 s) finds the time limit passed while the mediation is still open
    m.clock.advance(timedelta(days=31))
    [overdue] = await published(nats_client, subjects.MEDIATION_OVERDUE, case_id)
    assert overdue["data"]["organization"]["code"] == LABOUR_MEDIATION  # the limit moved with it

    kinds = {"mediation_assigned", "mediation_overdue"}
    docs = await of_case(n, case_id, kinds, 5)
    labour, village = f"unit:{LABOUR_MEDIATION}", f"unit:{VILLAGE_COMMITTEE}"
    assert told(docs, kinds) == [  # the petitioner is not told: the new organization contacts them
        ("mediation_assigned", labour, "inbox"),
        ("mediation_assigned", labour, "sms"),
        ("mediation_assigned", village, "inbox"),
        ("mediation_overdue", labour, "inbox"),
        ("mediation_overdue", labour, "sms"),
    ]
    assert not any(d["urgent"] for d in docs)
    labour_name = RULES.directory.organizations[LABOUR_MEDIATION].name
    village_name = RULES.directory.organizations[VILLAGE_COMMITTEE].name
    moved = next(d for d in docs if (d["kind"], d["recipient_key"]) == ("mediation_assigned", village))
    assert f"由{village_name}改由{labour_name}承办" in moved["body"] and "属劳动争议" in moved["body"]

    # the new organization reads both in its inbox, the one it left the move
    async with n.api("unit_handler", unit=LABOUR_MEDIATION) as client:
        inbox = [i for i in (await client.get("/v1/inbox")).json()["items"] if i["case_id"] == case_id]
    assert sorted(i["kind"] for i in inbox) == sorted(kinds)
    reminder = next(i for i in inbox if i["kind"] == "mediation_overdue")
    assert "调解期限" in reminder["body"] and "届满" in reminder["body"]
    async with n.api("unit_handler", unit=VILLAGE_COMMITTEE) as client:
        inbox = [i for i in (await client.get("/v1/inbox")).json()["items"] if i["case_id"] == case_id]
    assert sorted(i["kind"] for i in inbox) == ["mediation", "mediation_assigned"]

    await eventually(lambda: _sent(n, case_id, labour, "sms", 2), what="both SMS to the labour committee")
    labour_sms = [r for r in n.gateway.requests if r.body["to"] == LABOUR_PHONE]
    assert len(labour_sms) == 2

    # delivered again, each event adds no message and no SMS
    before = (sorted(d["_id"] for d in await n.messages(case_id)), len(n.gateway.requests))
    for subject in (subjects.MEDIATION_ASSIGNED, subjects.MEDIATION_OVERDUE):
        [event] = await published(nats_client, subject, case_id)
        await redeliver(n, event)
    after = (sorted(d["_id"] for d in await n.messages(case_id)), len(n.gateway.requests))
    assert after == before
