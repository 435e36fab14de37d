"""Three external systems as their integrators run them, on a platform of their own:

- the provincial 12345 platform submits over NATS (a CloudEvent made with the SDK, in the binary mode,
  with an extension) and hears its outcomes from its own consumer, and replays them from a time;
- a city's 311 app submits over Open311 and hears its outcomes as signed webhooks;
- the 110 system submits over HTTP with its external reference and hears its outcomes as webhooks.

Each case is worked through to its closing while the webhook receivers are offline and across a
restart of the whole platform (servers and services); each system then hears its own case's outcomes,
through `closed` and its rating, in order, once each, and none of another's.
"""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pymongo import MongoClient

from devtools.keys import issue_token, unit_area
from devtools.stack import Stack
from dispatch_common import subjects
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from tests import cloudevents_sdk as sdk
from tests.e2e.conftest import Api, start_stack
from tests.e2e.flow import settled_case_file, submission, wait_for
from tests.feed_receiver import FeedReceiver

pytestmark = pytest.mark.e2e

HOTLINE, POLICE, APP = "hotline-12345", "police-110", "city-311"
APP_FEED = subjects.open311_feed(APP)
SECRET = "feed-webhook-secret-for-tests"
JOURNEY = ["received", "accepted", "assigned", "progressed", "replied", "rated", "closed"]
WITH_EXTENSION = ["received", "accepted", "assigned", "extended", "progressed", "replied", "rated", "closed"]


@pytest.fixture(scope="module")
def receiver():
    r = FeedReceiver(SECRET).start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def platform(tmp_path_factory, receiver):
    """A platform whose notify delivers the 110 system's and the 311 app's feeds to the receiver."""
    base = tmp_path_factory.mktemp("integrators")
    recipients = json.loads((DATA_DIR / "notify" / "recipients.json").read_text(encoding="utf-8"))
    recipients["feed_webhooks"] = [
        {"feed": feed, "url": receiver.url(feed), "secret": "feeds"} for feed in (POLICE, APP_FEED)
    ]
    (base / "recipients.json").write_text(json.dumps(recipients, ensure_ascii=False), encoding="utf-8")
    env = {
        "RECIPIENTS_FILE": str(base / "recipients.json"),
        "WEBHOOK_SECRETS": json.dumps({"feeds": SECRET}),
        "DELIVERY_BACKOFF_SECONDS": "0.2",
        "DELIVERY_BACKOFF_MAX_SECONDS": "1",
    }
    stack = start_stack(base, env)
    yield stack
    stack.stop()


def restart(stack: Stack) -> None:
    """Stop the whole platform, servers included, and start it again on the same data."""
    stack.stop()
    stack.procs.clear()
    stack.nats_url = stack.mongodb_url = None
    stack.own_nats = False
    stack.start()


def api(stack: Stack, role: str, unit: str | None = None, subject: str | None = None) -> Api:
    """A caller; an external system's `subject` is the system it is (also its token's `system`)."""
    area = unit_area(DEFAULT_COUNTY_DIR, unit) if unit else None
    system = subject if role == "external_system" else None
    keys = stack.run_dir / "keys"
    return Api(stack, issue_token(keys, role=role, unit=unit, area=area, subject=subject, system=system))


def routable(samples: list[dict]) -> list[dict]:
    return [s for s in samples if s["expect"].get("town") and not s["expect"]["flags"]]


async def submit_over_nats(stack: Stack, body: dict[str, Any]) -> str:
    """The 12345 platform publishes a submission as its SDK makes it, in the binary mode."""
    made = sdk.event(
        {"type": subjects.INGRESS_CASE_SUBMIT, "source": f"/ingress/{HOTLINE}", "workorder": "GD-A1"}, body
    )
    headers, payload = sdk.to_binary(made)
    nc = await nats.connect(**stack.nats_options(HOTLINE))
    try:
        await nc.jetstream().publish(
            subjects.ingress_subject(HOTLINE, subjects.INGRESS_CASE_SUBMIT),
            payload,
            headers=headers | {"Nats-Msg-Id": made.get_id()},
        )
    finally:
        await nc.drain()
    return made.get_id()


async def hear(
    stack: Stack, system: str, *, durable: str | None = None, since: datetime | None = None
) -> list:
    """What a system reads from its own outcome stream (its consumer, or a replay consumer it makes
    from a time and deletes), each message parsed with the CloudEvents SDK."""
    stream = subjects.outcome_stream(system)
    nc = await nats.connect(**stack.nats_options(system))
    js = nc.jetstream()
    got = []
    try:
        name = durable
        if name is None:
            config = ConsumerConfig(
                name=f"replay-{uuid.uuid4().hex[:8]}",
                filter_subject=subjects.outcome_subjects(system),
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=since.isoformat() if since else None,
                ack_policy=AckPolicy.EXPLICIT,
                inactive_threshold=60.0,
            )
            name = (await js.add_consumer(stream, config=config)).name
        sub = await js.pull_subscribe_bind(name, stream=stream)
        while True:
            try:
                msgs = await sub.fetch(64, timeout=1.0)
            except TimeoutError:
                break
            for msg in msgs:
                got.append((msg.subject, sdk.from_nats(msg.headers, msg.data)))
                await msg.ack()
        if durable is None:
            await js.delete_consumer(stream, name)
    finally:
        await nc.drain()
    return got


def kinds(events: list[dict[str, Any]], case_id: str) -> list[str]:
    return [e["type"].rsplit(".", 1)[1] for e in events if e["data"]["case_id"] == case_id]


def work(stack: Stack, case: dict, *, extend: bool = False) -> None:
    """The lead unit signs (asks for an extension, approved), notes progress (internal, then public)
    and answers."""
    unit = api(stack, "unit_handler", case["lead_unit"]["code"])
    path = f"/v1/cases/{case['case_id']}"
    assert unit.post("supervision", f"{path}/sign", json={}).status_code == 200
    if extend:
        assert (
            unit.post(
                "supervision", f"{path}/extension", json={"days": 10, "reason": "需协调供电"}
            ).status_code
            == 200
        )
        decided = api(stack, "supervisor").post(
            "supervision", f"{path}/extension/decision", json={"approve": True, "reason": "同意延期"}
        )
        assert decided.status_code == 200, decided.text
    # a working note stays with staff; the public one is the one the submitting system hears of
    internal = {"note": "内部：等待供电所排期"}
    assert unit.post("supervision", f"{path}/progress", json=internal).status_code == 200
    public = {"note": "已安排人员现场查看", "visibility": "public"}
    assert unit.post("supervision", f"{path}/progress", json=public).status_code == 200
    answer = {"result": "resolved", "text": "已修复。如有疑问请拨打13812345678。"}
    assert unit.post("supervision", f"{path}/reply", json=answer).status_code == 200


def close(stack: Stack, case_id: str) -> None:
    """The hotline calls back (satisfied) and a dispatcher closes the case."""
    path = f"/v1/cases/{case_id}"
    assert (
        api(stack, "reception_clerk")
        .post("supervision", f"{path}/followup", json={"rating": "satisfied"})
        .status_code
        == 200
    )
    assert api(stack, "dispatcher").post("supervision", f"{path}/close", json={}).status_code == 200


def test_each_system_hears_its_own_outcomes_through_closing_in_order_once_after_restart_and_offline(
    platform, receiver, samples
):
    stack = platform
    started = datetime.now(UTC)
    keys = json.loads((stack.run_dir / "open311_keys.json").read_text())
    dispatcher = api(stack, "dispatcher")
    first, second, third = routable(samples)[:3]

    # 12345 over NATS; the 311 app over Open311; 110 over HTTP with its external reference
    ref = f"GD-{uuid.uuid4().hex[:10]}"
    nats_body = submission(first, channel="hotline_12345") | {"external_ref": {"system": HOTLINE, "id": ref}}
    asyncio.run(submit_over_nats(stack, nats_body))
    form = {
        "api_key": keys[APP],
        "service_code": second["expect"].get("subcategory") or "9901",
        "description": second["text"],
        **({"address_string": second["address"]} if second.get("address") else {}),
        **({"lat": second["lat"], "long": second["lon"]} if second.get("lat") else {}),
    }
    created = httpx.post(stack.url("intake") + "/open311/v2/requests.json", data=form)
    assert created.status_code == 201, created.text
    police = api(stack, "external_system", subject=POLICE)
    body = submission(third, channel="police_110", police_incident_no="110-2026-7788")
    body["external_ref"] = {"system": POLICE, "id": f"JQ-{uuid.uuid4().hex[:10]}"}
    registered = police.post("intake", "/v1/cases", json=body)
    assert registered.status_code == 201, registered.text

    cases = {}
    for system, case_id in (
        (POLICE, registered.json()["case_id"]),
        (APP, _case_of(stack, created.json()[0]["service_request_id"])),
        (HOTLINE, wait_for(lambda: _case_by_ref(stack, HOTLINE, ref), what="the 12345 case")),
    ):
        case = settled_case_file(dispatcher, case_id, timeout=60)
        assert case["status"] == "assigned", case
        cases[system] = case

    # the receivers go offline; the cases are worked; the whole platform restarts; the receivers return
    receiver.offline = True
    for system, case in cases.items():
        work(stack, case, extend=system == POLICE)
    wait_for(lambda: receiver.refused_while_offline >= 2, timeout=60, what="deliveries refused while offline")
    restart(stack)
    receiver.offline = False
    for case in cases.values():
        close(stack, case["case_id"])

    # 110 and the 311 app: their webhooks, in order, once each, signed, as the SDK parses them
    for feed, system, expected in ((POLICE, POLICE, WITH_EXTENSION), (APP_FEED, APP, JOURNEY)):
        case_id = cases[system]["case_id"]
        wait_for(
            lambda f=feed, c=case_id: "closed" in kinds(receiver.events(f), c),
            timeout=90,
            what=f"{feed} closed",
        )
        events = receiver.events(feed)
        assert kinds(events, case_id) == expected, feed
        assert len({e["id"] for e in events}) == len(events)  # once each
        assert {e["data"]["case_id"] for e in events} == {case_id}  # nobody else's
        assert all(e["content_type"].startswith("application/cloudevents+json") for e in events)
        assert all(e["idempotency_key"] == e["id"] for e in events)
        replied = next(e for e in events if e["type"] == subjects.OUTCOME_REPLIED)
        assert replied["data"]["text"] == "已修复。如有疑问请拨打138****5678。"  # numbers masked
    assert receiver.bad_signatures == 0
    extended = next(e for e in receiver.events(POLICE) if e["type"] == subjects.OUTCOME_EXTENDED)
    assert extended["data"]["days"] == 10 and extended["data"]["due_at"]
    assert extended["data"]["note"] == "需协调供电"  # the unit's reason, not the decision's "同意延期"
    assert receiver.events(POLICE)[0]["data"]["external_ref"] == body["external_ref"]

    # the 311 app also reads its request closed over Open311, and its answer in full
    one = httpx.get(
        stack.url("intake") + f"/open311/v2/requests/{cases[APP]['case_no']}.json",
        params={"api_key": keys[APP]},
    ).json()[0]
    assert one["status"] == "closed" and "138****5678" in one["status_notes"]

    # 12345, back after being away the whole time: its own consumer, then a replay from a time
    heard = asyncio.run(hear(stack, HOTLINE, durable=subjects.outcome_durable(HOTLINE)))
    case_id = cases[HOTLINE]["case_id"]
    mine = [e for _, e in heard if e.get_data()["case_id"] == case_id]
    assert [e.get_type().rsplit(".", 1)[1] for e in mine] == JOURNEY
    assert len({e.get_id() for _, e in heard}) == len(heard)
    assert {s.split(".")[1] for s, _ in heard} == {HOTLINE}
    assert {e.get_data()["case_id"] for _, e in heard} == {case_id}  # nobody else's
    assert mine[0].get_data()["submission_id"] and mine[0].get_data()["external_ref"]["id"] == ref
    replayed = asyncio.run(hear(stack, HOTLINE, since=started))
    assert [e.get_id() for _, e in replayed] == [e.get_id() for _, e in heard]
    # and the other systems' consumers hold nothing of these cases
    for other in ("grid-app", "online-petition"):
        assert asyncio.run(hear(stack, other, durable=subjects.outcome_durable(other))) == []


def _intake_cases(stack: Stack) -> Any:
    return MongoClient(stack.mongodb_url, tz_aware=True)["dispatch_intake"]["cases"]


def _case_of(stack: Stack, case_no: str) -> str:
    return _intake_cases(stack).find_one({"case_no": case_no})["_id"]


def _case_by_ref(stack: Stack, system: str, ref: str) -> str | None:
    found = _intake_cases(stack).find_one({"external_ref.system": system, "external_ref.id": ref})
    return found["_id"] if found else None
