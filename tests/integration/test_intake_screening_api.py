"""Intake's manual screening over HTTP, in process on the real servers: the queue a page at a time
while cases are screened and submitted (none skipped, none repeated), and If-Match on a screening
(two decisions made from one version of the case: one success, one 412)."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.intake_support import IntakeHarness, start_intake

pytestmark = pytest.mark.integration

DOUBTFUL = "对处理意见不服，申请复查。第{n}次来电。"  # the rules leave a review request to a person


@pytest.fixture
async def harness(nats_url, mongodb_url, db_prefix, run_dir) -> AsyncIterator[IntakeHarness]:
    h = await start_intake(nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir)
    yield h
    await h.intake.runtime.stop()


async def submit(clerk, n: int) -> str:
    r = await clerk.post("/v1/cases", json={"channel": "hotline_12345", "text": DOUBTFUL.format(n=n)})
    assert r.status_code == 201 and r.json()["status"] == "screening", r.text
    return r.json()["case_id"]


async def oldest_first(harness: IntakeHarness, case_ids: list[str]) -> list[str]:
    docs = [await harness.stored(c) for c in case_ids]
    return [d["_id"] for d in sorted(docs, key=lambda d: (d["received_at"], d["_id"]))]


async def test_the_queue_pages_by_cursor_while_cases_are_screened_and_submitted(harness):
    async with harness.client("reception_clerk") as clerk:
        waiting = [await submit(clerk, n) for n in range(5)]
        expected = await oldest_first(harness, waiting)
        seen: list[str] = []
        cursor = None
        while True:
            r = await clerk.get(
                "/v1/screening/queue", params={"limit": 2} | ({"cursor": cursor} if cursor else {})
            )
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["items"]) <= 2 and all(
                i["screening"]["outcome"] == "manual" for i in page["items"]
            )
            if not seen:  # a case already seen is screened, and a new one comes in
                done = await clerk.post(
                    f"/v1/cases/{expected[0]}/screening", json={"outcome": "accepted", "reason": "受理"}
                )
                assert done.status_code == 200, done.text
                expected.append(await submit(clerk, 99))
            seen += [i["case_id"] for i in page["items"]]
            if page["next_cursor"] is None:
                break
            cursor = page["next_cursor"]
        assert seen == expected  # the screened one where it was, none repeated, the newcomer last
        assert (await clerk.get("/v1/screening/queue", params={"limit": 201})).status_code == 422
        assert (await clerk.get("/v1/screening/queue", params={"cursor": "nope"})).status_code == 422
        assert "offset" not in (await clerk.get("/v1/screening/queue", params={"offset": 3})).json()


async def test_two_screenings_from_one_version_give_one_success_and_one_412(harness):
    async with harness.client("reception_clerk") as a, harness.client("dispatcher") as b:
        case_id = await submit(a, 1)
        read = await a.get(f"/v1/cases/{case_id}")
        tag = read.headers["ETag"]
        assert tag == f'"{(await harness.stored(case_id))["version"]}"'
        decisions = [
            {"outcome": "accepted", "reason": "受理"},
            {"outcome": "not_accepted", "reason": "不予受理"},
        ]
        answers = await asyncio.gather(
            *(
                c.post(f"/v1/cases/{case_id}/screening", json=d, headers={"If-Match": tag})
                for c, d in zip((a, b), decisions, strict=True)
            )
        )
        assert sorted(r.status_code for r in answers) == [200, 412], [r.text for r in answers]
        won = next(r for r in answers if r.status_code == 200)
        lost = next(r for r in answers if r.status_code == 412)
        assert (
            won.headers["ETag"]
            == lost.headers["ETag"]
            == (await a.get(f"/v1/cases/{case_id}")).headers["ETag"]
        )
        stored = await harness.stored(case_id)
        assert stored["status"] == won.json()["status"]
        # without If-Match the second decision is refused for what it is: the case was screened already
        again = await b.post(f"/v1/cases/{case_id}/screening", json=decisions[1])
        assert again.status_code == 409, again.text
