"""The profile's sections on the real servers: supervision's events about a case's proxy agents and
the risk-ledger entries linked to it reach intake's profile consumer on the real nats-server, and the
profile of the petitioner shows the agents (who, tier, since, how; the current one) and the entries
(kind, level, status as their steps left it, town, opened and closed), never another person's; a
confidential report the caller may not read brings neither its agent nor its entry; a redelivered
event is stored once."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch_common import subjects
from dispatch_common.contracts import validate_event
from dispatch_common.envelope import make_event
from services.intake.adapters.profile import records_of
from services.intake.domain.identity import with_check_digit
from tests.helpers import eventually, publish_as_ops
from tests.intake_support import IntakeHarness, start_intake

pytestmark = pytest.mark.integration

ID_NUMBER = with_check_digit("11010519800101123")
OTHER_ID = with_check_digit("11010519900202456")
PHONE = "13912345678"
AT = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
UNIT = {"code": "U-LABOUR", "name": "人社局"}
REPORT = "前进村的村支书收了钱才给办低保，还把低保名额给了自己家亲戚，我家条件最差却评不上。"


@pytest.fixture
async def harness(nats_url, mongodb_url, db_prefix, run_dir) -> AsyncIterator[IntakeHarness]:
    h = await start_intake(nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir)
    yield h
    await h.intake.runtime.stop()


async def publish(
    h: IntakeHarness, event_type: str, subject: str | None, data: dict[str, Any]
) -> dict[str, Any]:
    """Publish supervision's event as it would (checked against proto/ first; a ledger event has no
    subject, as supervision publishes it)."""
    event = make_event(
        type=event_type, source="/dispatch/supervision", subject=subject, data=data
    ).to_document()
    validate_event(event)
    settings = h.intake.runtime.settings
    await publish_as_ops(settings.nats_url, settings.run_dir, event)
    return event


async def submit(clerk, **fields: Any) -> dict[str, Any]:
    body = {"channel": "petition_visit", "people_count": 1, "text": "讨要拖欠工资三个月，老板不给"} | fields
    r = await clerk.post("/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def represented(h: IntakeHarness, case: dict[str, Any], agent: str, name: str, how: str) -> None:
    await publish(
        h,
        subjects.CASE_REPRESENTED,
        case["case_id"],
        {
            "case_id": case["case_id"],
            "case_no": case["case_no"],
            "agent_id": agent,
            "agent_name": name,
            "tier": "village",
            "area": "990102001001",
            "how": how,
            "consent": {"method": "signed_form", "given_at": AT.isoformat()},
            "by": {"subject": "d1", "role": "dispatcher", "unit": None},
            "at": AT.isoformat(),
            "agents": [agent],
        },
    )


async def opened(
    h: IntakeHarness, entry: str, case_ids: list[str], *, level: str = "high", party_keys: str | None = None
) -> dict[str, Any]:
    return await publish(
        h,
        subjects.LEDGER_OPENED,
        None,
        {
            "entry_id": entry,
            "entry_no": f"TZ-{entry}",
            "owner_unit": UNIT,
            "status": "opened",
            "kind": "dispute",
            "risk_level": level,
            "place": {"town": "990102001", "village": None, "grid": None},
            "source": {"kind": "patrol", "ref": None},
            "due_at": (AT + timedelta(days=15)).isoformat(),
            "opened_at": AT.isoformat(),
            "case_ids": case_ids,
            "party_keys": party_keys,
        },
    )


async def stepped(h: IntakeHarness, entry: str, event_type: str, status: str, **more: Any) -> None:
    action = "approve" if event_type == subjects.LEDGER_CLOSED else more.pop("action")
    data = {"entry_id": entry, "entry_no": f"TZ-{entry}", "owner_unit": UNIT, "status": status}
    await publish(h, event_type, None, data | {"action": action, "at": AT.isoformat()} | more)


async def test_a_profile_shows_the_agents_and_the_linked_risk_entries_of_the_petitioners_cases(harness):
    h = harness
    async with h.client("reception_clerk") as clerk, h.client("supervisor") as supervisor:
        first = await submit(clerk, petitioner={"name": "张三", "phone": PHONE, "id_number": ID_NUMBER})
        second = await submit(clerk, petitioner={"name": "张三", "phone": PHONE})
        other = await submit(clerk, petitioner={"name": "赵六", "id_number": OTHER_ID})
        report = await submit(
            clerk, channel="hotline_12345", text=REPORT, petitioner={"name": "张三", "phone": PHONE}
        )
        stored = await h.intake.cases.cases.find_one({"_id": report["case_id"]}, {"confidential": 1})
        assert stored is not None and stored["confidential"] is True  # screening marked it 检举控告

        # the first case: filed by a village agent, then escalated a tier up to a town agent
        await represented(h, first, "AG-V1", "村代办员甲", "intake")
        await publish(
            h,
            subjects.CASE_AGENT_ESCALATED,
            first["case_id"],
            {
                "case_id": first["case_id"],
                "case_no": first["case_no"],
                "from_agent": "AG-V1",
                "to_agent": "AG-T1",
                "from_tier": "village",
                "to_tier": "town",
                "hours": 72,
                "at": (AT + timedelta(days=3)).isoformat(),
                "agents": ["AG-V1", "AG-T1"],
                "to_agent_name": "镇代办员乙",
            },
        )
        await represented(h, other, "AG-X", "别人的代办员", "dispatcher")
        await represented(h, report, "AG-C", "举报案代办员", "petitioner_request")

        # the ledger: one entry opened on the second case, one opened bare, linked to the first later
        # and closed; one of another person's case, one of the confidential report
        first_opening = await opened(h, "E1", [second["case_id"]])
        await opened(h, "E2", [], level="medium")
        await stepped(
            h, "E2", subjects.LEDGER_UPDATED, "opened", action="link_case", case_id=first["case_id"]
        )
        await stepped(h, "E2", subjects.LEDGER_UPDATED, "close_requested", action="request_close")
        await stepped(h, "E2", subjects.LEDGER_CLOSED, "closed", closed_on_time=True)
        await opened(h, "E3", [other["case_id"]])
        await opened(h, "E4", [report["case_id"]])

        async def profile_of(client, case_id: str) -> dict[str, Any]:
            r = await client.get(f"/v1/cases/{case_id}/profile", params={"reason": "接待重复来访"})
            assert r.status_code == 200, r.text
            return r.json()

        async def complete() -> dict[str, Any] | None:
            body = await profile_of(clerk, second["case_id"])
            entries = {e["entry_id"]: e for e in body["sections"]["risk_entries"]}
            done = len(body["sections"]["agents"]) == 2 and entries.get("E2", {}).get("status") == "closed"
            return body if done and "E1" in entries else None

        profile = await eventually(complete, what="the profile showing the agents and the ledger entries")
        town, village = profile["sections"]["agents"]  # newest first
        assert (village["agent_id"], village["name"], village["tier"]) == ("AG-V1", "村代办员甲", "village")
        assert village["how"] == "intake" and not village["current"] and village["until"] == town["since"]
        assert (town["agent_id"], town["tier"], town["how"], town["current"]) == (
            "AG-T1",
            "town",
            "escalation",
            True,
        )
        assert (
            town["case_id"] == village["case_id"] == first["case_id"] and town["case_no"] == first["case_no"]
        )
        assert town["until"] is None and village["since"].startswith("2026-03-03T02:00")

        entries = {e["entry_id"]: e for e in profile["sections"]["risk_entries"]}
        assert set(entries) == {"E1", "E2"}  # not another person's entry, not the withheld report's
        e1, e2 = entries["E1"], entries["E2"]
        assert (e1["kind"], e1["level"], e1["status"], e1["town"]) == (
            "dispute",
            "high",
            "opened",
            "990102001",
        )
        assert e1["case_ids"] == [second["case_id"]] and e1["closed_at"] is None
        assert e1["owner_unit"] == UNIT and e1["entry_no"] == "TZ-E1"
        assert (e2["level"], e2["status"], e2["closed_on_time"]) == ("medium", "closed", True)
        assert e2["case_ids"] == [first["case_id"]] and e2["closed_at"] is not None
        assert profile["summary"]["withheld_confidential"] == 1

        # the role that reads every report sees the report's agent and entry too
        everything = await profile_of(supervisor, second["case_id"])
        assert {a["agent_id"] for a in everything["sections"]["agents"]} == {"AG-V1", "AG-T1", "AG-C"}
        assert {e["entry_id"] for e in everything["sections"]["risk_entries"]} == {"E1", "E2", "E4"}

        # a redelivered opening is stored once: its records are keyed by the event's id
        outcomes = h.intake.profiles.reader.outcomes
        records = records_of(
            first_opening["id"], first_opening["type"], first_opening["data"], AT, keys=h.intake.keys
        )
        assert [r["kind"] for r in records] == ["ledger_opened", "ledger_link"]
        await h.intake.profiles.reader.keep(records)
        assert await outcomes.count_documents({"entry_id": "E1"}) == 2
        again = await profile_of(clerk, first["case_id"])
        assert [e["entry_id"] for e in again["sections"]["risk_entries"]].count("E1") == 1
