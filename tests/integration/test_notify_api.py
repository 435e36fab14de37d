"""Notify's HTTP API on the real servers: listings, inboxes, letters, template preview and reload,
and the pacing of the sender (rate limits, quiet hours)."""

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.notify_fakes import alarm, assigned, screened
from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.paths import DATA_DIR
from tests.helpers import eventually
from tests.notify_support import LEAD, UNIT_PHONE, Harness, start_notify, stop_notify

pytestmark = pytest.mark.integration
PHONE = "13812345678"
CONTRACT_FIELDS = {"id", "case_id", "kind", "channel", "recipient", "status", "attempts", "sent_at"}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, raw: dict) -> None:
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")


def new_case() -> tuple[str, str]:
    return str(uuid.uuid4()), f"990102-2026-{uuid.uuid4().int % 10**6:06d}"


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    """The templates and letters in a folder the test may edit."""
    folder = tmp_path / "notify"
    shutil.copytree(DATA_DIR / "notify", folder)
    return folder / "templates.json"


@pytest.fixture
async def h(servers, templates_copy) -> AsyncIterator[Harness]:
    harness = await start_notify(
        **servers,
        templates_file=templates_copy,
    )
    yield harness
    await stop_notify(harness)


async def test_the_case_listing_has_the_contract_fields_with_recipients_masked(h: Harness):
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    await h.publish(assigned(case_id, case_no, LEAD))
    await h.settled(case_id, 4)
    async with h.api("dispatcher") as client:
        items = (await client.get("/v1/notifications", params={"case_id": case_id})).json()["items"]
        assert (await client.get("/v1/notifications")).status_code == 422
    async with h.api("unit_handler", unit=LEAD["code"]) as client:
        assert (await client.get("/v1/notifications", params={"case_id": case_id})).status_code == 403
    assert all(item.keys() >= CONTRACT_FIELDS for item in items)
    assert {i["kind"] for i in items} == {"acceptance", "assignment"}
    assert {i["status"] for i in items} == {"sent"}
    assert PHONE not in json.dumps(items) and "lead-unit@" not in json.dumps(items)
    acceptance = next(i for i in items if i["kind"] == "acceptance")
    assert acceptance["recipient"] == "138****5678" and acceptance["channel"] == "sms"


async def test_a_unit_reads_its_inbox_and_marks_a_message_read_others_cannot(h: Harness):
    case_id, case_no = new_case()
    await h.publish(assigned(case_id, case_no, LEAD))
    await h.settled(case_id, 2)
    async with h.api("unit_handler", unit=LEAD["code"]) as client:
        inbox = (await client.get("/v1/inbox")).json()
        mine = [i for i in inbox["items"] if i["case_id"] == case_id]
        assert "unit:U-LEAD" in inbox["owners"] and [i["kind"] for i in mine] == ["assignment"]
        assert mine[0]["read"] is False
        read = await client.post(f"/v1/inbox/{mine[0]['id']}/read")
        assert read.status_code == 200 and read.json()["read"] is True
        again = (await client.post(f"/v1/inbox/{mine[0]['id']}/read")).json()
        assert again["read_at"][:19] == read.json()["read_at"][:19]  # read once; the first time stays
        unread = (await client.get("/v1/inbox", params={"unread": "true"})).json()["items"]
        assert mine[0]["id"] not in [i["id"] for i in unread]
    async with h.api("unit_handler", unit="U-OTHER") as client:
        assert (await client.post(f"/v1/inbox/{mine[0]['id']}/read")).status_code == 404
        assert [i for i in (await client.get("/v1/inbox")).json()["items"] if i["case_id"] == case_id] == []


async def test_each_reader_of_a_group_inbox_has_their_own_read_state(h: Harness):
    case_id, case_no = new_case()
    await h.publish(alarm(subjects.CASE_OVERDUE, case_id, case_no, LEAD))  # tells role:supervisor too

    async def unread(client) -> list[str]:
        items = (await client.get("/v1/inbox", params={"unread": "true"})).json()["items"]
        return [i["id"] for i in items if i["case_id"] == case_id]

    async with h.api("supervisor", subject="sup-a") as a, h.api("supervisor", subject="sup-b") as b:
        [notice] = await eventually(lambda: unread(a), what="the overdue notice in the supervisors' inbox")
        assert await unread(b) == [notice]
        read = (await a.post(f"/v1/inbox/{notice}/read")).json()
        assert read["read"] is True
        assert await unread(a) == []
        assert await unread(b) == [notice]  # another supervisor has not read it
        mine = [i for i in (await b.get("/v1/inbox")).json()["items"] if i["id"] == notice]
        assert mine[0]["read"] is False and mine[0]["read_at"] is None
        assert (await b.post(f"/v1/inbox/{notice}/read")).json()["read"] is True
        assert await unread(b) == []
        again = (await a.post(f"/v1/inbox/{notice}/read")).json()
        assert again["read_at"][:19] == read["read_at"][:19]  # a's first reading stays
    async with h.api("dispatcher") as client:  # the case's listing: read by someone (proof of receipt)
        items = (await client.get("/v1/notifications", params={"case_id": case_id})).json()["items"]
        assert next(i for i in items if i["id"] == notice)["read"] is True


async def walk(client, path: str, limit: int, between=None, **params) -> list[str]:
    """Every message id of a list, page by page (`between(n)` runs after page n)."""
    seen: list[str] = []
    cursor, n = None, 0
    while True:
        r = await client.get(path, params=params | {"limit": limit} | ({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) <= limit
        seen += [i["id"] for i in r.json()["items"]]
        n += 1
        if between is not None:
            await between(n)
        if r.json()["next_cursor"] is None:
            return seen
        cursor = r.json()["next_cursor"]


async def test_an_inbox_pages_newest_first_by_cursor_while_messages_come_and_are_read(h: Harness):
    cases = [new_case() for _ in range(5)]
    for case_id, case_no in cases:
        await h.publish(assigned(case_id, case_no, LEAD))
        await h.settled(case_id, 2)
    found = h.notify.messages.notifications.find({"inbox_owner": "unit:U-LEAD"}).sort(
        [("created_ts", -1), ("_id", -1)]
    )
    expected = [d["_id"] async for d in found]
    assert len(expected) >= 5
    async with h.api("unit_handler", unit=LEAD["code"]) as client:
        late = new_case()

        async def meanwhile(page: int) -> None:
            if page == 1:  # a new message (newest: on no later page) and a read of one not yet seen
                await h.publish(assigned(*late, LEAD))
                await h.settled(late[0], 2)
                assert (await client.post(f"/v1/inbox/{expected[3]}/read")).status_code == 200

        assert await walk(client, "/v1/inbox", 2, meanwhile) == expected
        unread = await walk(client, "/v1/inbox", 2)
        assert unread[0] not in expected and unread[1:] == expected  # the newcomer on top now
        assert await walk(client, "/v1/inbox", 2, unread="true") == [i for i in unread if i != expected[3]]
        assert (await client.get("/v1/inbox", params={"limit": 201})).status_code == 422
        assert (await client.get("/v1/inbox", params={"cursor": "nope"})).status_code == 422


async def test_a_cases_messages_page_oldest_first_and_the_whole_list_has_no_cap(h: Harness):
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    await h.publish(assigned(case_id, case_no, LEAD))
    docs = await h.settled(case_id, 4)
    expected = [d["_id"] for d in sorted(docs, key=lambda d: (d["created_ts"], d["_id"]))]
    async with h.api("dispatcher") as client:
        assert await walk(client, "/v1/notifications", 1, case_id=case_id) == expected
        assert await walk(client, "/v1/notifications", 3, case_no=case_no) == expected
        sent = await walk(client, "/v1/notifications", 2, status="sent")
        assert set(expected) <= set(sent) and len(sent) == len(set(sent))


async def test_two_retries_from_one_version_give_one_success_and_one_412(h: Harness):
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    [doc] = await h.settled(case_id, 1)
    await h.notify.messages.save(doc, {"status": "dead", "dead_reason": "gave up (test)"})
    async with h.api("supervisor") as a, h.api("admin") as b:
        read = await a.get(f"/v1/notifications/{doc['_id']}")
        tag = read.headers["ETag"]
        assert tag == f'"{read.json()["version"]}"'
        answers = await asyncio.gather(
            *(c.post(f"/v1/notifications/{doc['_id']}/retry", headers={"If-Match": tag}) for c in (a, b))
        )
        assert sorted(r.status_code for r in answers) == [200, 412], [r.text for r in answers]
        won = next(r for r in answers if r.status_code == 200)
        lost = next(r for r in answers if r.status_code == 412)
        # the 412 names the version now (the sender may have moved it on since the retry)
        assert won.json()["status"] == "queued" and lost.headers["ETag"] != tag
        again = await b.post(f"/v1/notifications/{doc['_id']}/retry")  # without If-Match: as before
        assert again.status_code == 409, again.text


async def test_the_petition_portal_reads_an_anonymous_petitioners_inbox_by_case(h: Harness):
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, anonymous=True, submitted_by="petition-portal"))
    await h.settled(case_id, 1)
    async with h.api("external_system", subject="another-system") as client:  # not its case: nothing
        assert (await client.get("/v1/inbox", params={"case_id": case_id})).status_code == 404
    async with h.api("external_system", subject="petition-portal") as client:
        items = (await client.get("/v1/inbox", params={"case_id": case_id})).json()["items"]
        assert [(i["kind"], i["channel_reason"]) for i in items] == [("acceptance", "anonymous petitioner")]
        assert (await client.post(f"/v1/inbox/{items[0]['id']}/read")).json()["read"] is True
        doc = await client.get(f"/v1/notifications/{items[0]['id']}/document")
        assert doc.status_code == 200 and case_no in doc.text  # the letter, for the petitioner it serves
    async with h.api("external_system", subject="another-system") as client:  # not its case: nothing
        assert (await client.get(f"/v1/notifications/{items[0]['id']}/document")).status_code == 404
    async with h.api("unit_handler", unit=LEAD["code"]) as client:
        assert (await client.get("/v1/inbox", params={"case_id": case_id})).status_code == 403
    async with h.api("reception_clerk") as client:
        doc = await client.get(f"/v1/notifications/{items[0]['id']}/document")
        assert doc.status_code == 200 and "受理告知书" in doc.text and case_no in doc.text


async def test_a_template_is_previewed_with_sample_data_and_counted_in_sms_parts(h: Harness):
    async with h.api("admin") as client:
        r = await client.post("/v1/templates/acceptance/preview", json={"channel": "sms"})
        assert r.status_code == 200, r.text
        body = r.json()
        # the acceptance SMS carries the lookup code and the progress page's link (docs/progress.md):
        # longer than one part, within the configured maximum
        assert "990102-2026-000123" in body["text"] and "查询码ABCD-EFGH" in body["text"] and body["html"]
        assert 1 < body["segments"] <= body["max_segments"]
        r = await client.post(
            "/v1/templates/assignment/preview",
            json={"audience": "unit", "channel": "email", "values": {"unit_name": "某局"}},
        )
        assert r.json()["subject"] == "交办告知" and r.json()["text"].startswith("某局")
        long = await client.post(
            "/v1/templates/progress/preview", json={"channel": "sms", "values": {"note": "进展" * 200}}
        )
        assert long.json()["segments"] <= long.json()["max_segments"] and long.json()["text"].endswith("…")
        assert (await client.post("/v1/templates/nothing/preview", json={})).status_code == 404
        kinds = (await client.get("/v1/templates")).json()["kinds"]
        assert {
            "acceptance",
            "refusal",
            "assignment",
            "reply",
            "followup",
            "deadline_warning",
            "overdue",
            "escalation",
        } <= kinds.keys()


async def test_a_changed_template_is_used_without_a_restart_and_a_broken_one_is_refused(
    h: Harness, templates_copy: Path
):
    raw = read_json(templates_copy)
    sms = raw["kinds"]["acceptance"]["audiences"]["petitioner"]
    sms["sms"] = "【{{ county_name }}】新版受理告知，编号{{ case_no }}。"
    raw["version"] = "4"
    write_json(templates_copy, raw)

    async with h.api("admin") as client:

        async def new_text() -> str | None:
            r = await client.post("/v1/templates/acceptance/preview", json={"channel": "sms"})
            return r.json()["text"] if "新版" in r.json()["text"] else None

        await eventually(new_text, within=5, what="the changed template to be picked up")
        version = (await client.get("/v1/templates")).json()["version"]
        assert version.startswith("4+")

        sms["sms"] = "{{ no_such_variable }}" + "很长的短信" * 60
        write_json(templates_copy, raw)
        r = await client.post("/v1/admin/templates/reload")
        assert r.status_code == 422
        assert any("no_such_variable" in p for p in (e["msg"] for e in r.json()["errors"]))
        await asyncio.sleep(1.1)  # past the once-a-second look at the file: still the version in force
        assert (await client.get("/v1/templates")).json()["version"] == version
        assert (
            "新版"
            in (await client.post("/v1/templates/acceptance/preview", json={"channel": "sms"})).json()["text"]
        )

        sms["sms"] = "很长的短信" * 60
        write_json(templates_copy, raw)
        r = await client.post("/v1/admin/templates/reload")
        assert r.status_code == 422 and "SMS parts" in json.dumps(r.json(), ensure_ascii=False)
        assert (await client.post("/v1/admin/templates/reload", headers={})).status_code == 422
    async with h.api("dispatcher") as client:
        assert (await client.post("/v1/admin/templates/reload")).status_code == 403


async def test_the_sms_rate_limit_holds(servers):
    h = await start_notify(
        **servers,
        channel_rate_limits={"sms": 5.0},
    )
    try:
        cases = [new_case() for _ in range(12)]
        for case_id, case_no in cases:
            await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))

        async def all_delivered() -> bool:
            return len(h.gateway.delivered) == len(cases)

        await eventually(all_delivered, within=30, what="every SMS at the gateway")
        times = sorted(h.gateway.delivered_at.values())
        # a bucket of 5 then one every 0.2 s: the n-th message cannot come before (n - 5) / 5 s (a bound)
        for n, at in enumerate(times):
            assert at - times[0] >= (n - 5) * 0.2 * 0.9, (n, at - times[0])
    finally:
        await stop_notify(h)


async def test_quiet_hours_hold_back_non_urgent_sms_until_morning_but_not_urgent_ones(servers):
    # 22:00 in the county (UTC+8): within 21:00-08:00
    clock = FixedClock(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    h = await start_notify(
        **servers,
        clock=clock,
        quiet_hours="21:00-08:00",
    )
    try:
        case_id, case_no = new_case()
        await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
        [held] = await h.settled(case_id, 1, done=lambda d: d["status"] == "queued")
        morning = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in the county
        assert held["due_ts"] == int(morning.timestamp() * 1000) and held["attempts"] == 0

        await h.publish(assigned(case_id, case_no, LEAD))
        await h.publish(alarm(subjects.CASE_OVERDUE, case_id, case_no, LEAD))

        async def urgent_sent():
            docs = await h.messages(case_id)
            return [
                d for d in docs if d["kind"] == "overdue" and d["channel"] == "sms" and d["status"] == "sent"
            ]

        await eventually(urgent_sent, what="the urgent overdue SMS to the unit")
        assert [r.body["to"] for r in h.gateway.requests] == [UNIT_PHONE]  # the petitioner's still waits
        clock.set(morning + timedelta(minutes=1))

        async def morning_sent():
            docs = await h.messages(case_id)
            return all(d["status"] == "sent" for d in docs if d["recipient_key"] == "petitioner") or None

        await eventually(morning_sent, what="the held SMS after quiet hours")
        assert PHONE in [r.body["to"] for r in h.gateway.requests]
    finally:
        await stop_notify(h)
