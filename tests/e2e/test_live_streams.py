"""The live streams of the running platform, read as a frontend reads them (docs/api.md, Live streams):
each tells its reader what the matching list would show it, and nothing of another unit's cases."""

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Api
from tests.e2e.flow import settled_case_file, submission
from tests.live_support import Collected, Sse, ThreadReader

pytestmark = pytest.mark.e2e


@pytest.fixture
def open_stream() -> Iterator:
    opened: list[ThreadReader] = []

    def make(api: Api, service: str, path: str, last: str | None = None) -> ThreadReader:
        headers = {"Authorization": f"Bearer {api.token}"}
        if last is not None:
            headers["Last-Event-ID"] = last
        reader = ThreadReader(api.url(service, path), headers).start()
        opened.append(reader)
        return reader

    yield make
    for reader in opened:
        reader.close()


def about(case_id: str, *names: str):
    """A check: the messages of these names about one case."""

    def check(got: Collected) -> list[Sse]:
        return [m for m in got.named(*names) if isinstance(m.data, dict) and m.data.get("case_id") == case_id]

    return check


def submit(clerk: Api, sample: dict) -> str:
    r = clerk.post("intake", "/v1/cases", json=submission(sample | {"channel": "petition_letter"}))
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


def test_a_unit_hears_of_its_own_case_and_another_unit_hears_nothing(
    clerk, dispatcher, as_role, samples, units, open_stream
) -> None:
    county = open_stream(dispatcher, "supervision", "/v1/streams/worklist")
    start = county.until(Collected.ready).id
    case_id = submit(clerk, next(s for s in samples if s["expect"].get("town") and not s["expect"]["flags"]))
    case = settled_case_file(dispatcher, case_id)
    lead = case["lead_unit"]["code"]
    on_case = {lead, *(u["code"] for u in case["assisting_units"])}

    [assigned] = county.until(about(case_id, "case"))
    assert assigned.data["status"] == "assigned" and assigned.data["lead_unit"]["code"] == lead
    assert assigned.data["town"] == case["jurisdiction"]["town"] and assigned.data["due_at"]

    mine = as_role("unit_handler", lead)
    own = open_stream(mine, "supervision", "/v1/streams/worklist", last=start)  # resumed from before
    [line] = own.until(about(case_id, "case"))
    assert line.data["unit"] == lead and line.data["role"] == "lead" and line.id == assigned.id
    inbox = open_stream(mine, "notify", "/v1/streams/inbox", last=start)
    [notice] = inbox.until(about(case_id, "message"))
    assert notice.data["kind"] == "assignment" and notice.data["read"] is False

    other = as_role("unit_handler", next(u["code"] for u in units if u["code"] not in on_case))
    theirs = open_stream(other, "supervision", "/v1/streams/worklist", last=start)
    their_inbox = open_stream(other, "notify", "/v1/streams/inbox", last=start)
    for reader, seen in ((theirs, line), (their_inbox, notice)):
        # their replay went past the case's events (ready comes after it) and told nothing of it
        assert int(reader.until(Collected.ready).id) >= int(seen.id)
        assert not about(case_id, "case", "removed", "message")(reader.got)
    refused = httpx.get(
        other.url("supervision", f"/v1/streams/cases/{case_id}"),
        headers={"Authorization": f"Bearer {other.token}"},
        timeout=10,
    )
    assert refused.status_code == 404

    timeline = open_stream(mine, "supervision", f"/v1/streams/cases/{case_id}")
    timeline.until(Collected.ready)
    assert mine.post("supervision", f"/v1/cases/{case_id}/sign", json={}).status_code == 200
    signed = [m for m in timeline.until(about(case_id, "entry")) if m.data["type"] == "dispatch.case.signed"]
    assert signed and signed[0].data["event_id"]
    own.until(lambda got: [m for m in about(case_id, "case")(got) if m.data["status"] == "signed"])
    # what a reader fetches after the message already shows the change
    assert mine.get("supervision", f"/v1/cases/{case_id}").json()["status"] == "signed"
    assert not about(case_id, "case", "removed")(theirs.got)


def test_the_dispatchers_see_a_manual_case_enter_the_queue_and_leave_it(
    clerk, dispatcher, samples, units, open_stream
) -> None:
    queue = open_stream(dispatcher, "routing", "/v1/streams/queue")
    queue.until(Collected.ready)
    manual = next(
        s
        for s in samples
        if "manual" in s["expect"]["flags"] and "legal_redirect" not in s["expect"]["flags"]
    )
    case_id = submit(clerk, manual)
    [entered] = queue.until(about(case_id, "entered"))
    assert entered.data["case_no"] and "manual_reason" in entered.data and entered.data["explanation"]
    town = next(u["jurisdiction"] for u in units if u["level"] == "town")
    r = dispatcher.post(
        "routing", f"/v1/routes/{case_id}/override", json={"area": town, "reason": "补充了乡镇"}
    )
    assert r.status_code == 200, r.text
    [left] = queue.until(about(case_id, "left"))
    assert left.data["lead_unit"]["code"] == r.json()["lead_unit"]["code"] and int(left.id) > int(entered.id)

    again = open_stream(dispatcher, "routing", "/v1/streams/queue", last=str(int(entered.id) - 1))
    again.until(Collected.ready)  # resumed from before it entered: both, in order, once each
    assert [m.event for m in about(case_id, "entered", "left")(again.got)] == ["entered", "left"]


def test_the_board_pushes_the_figures_when_they_change(clerk, as_role, samples, units, open_stream) -> None:
    leader = as_role("county_leader")
    board = open_stream(leader, "supervision", "/v1/streams/board")
    [first] = board.until(lambda got: got.named("figures"))
    figures = first.data
    assert set(figures) >= {"at", "intake_today", "rates", "overdue", "due_soon", "warnings", "load"}
    assert set(figures["rates"]) == {
        "month",
        "response_rate",
        "resolution_rate",
        "satisfaction_rate",
        "on_time_rate",
    }
    before = sum(figures["intake_today"].values())
    submit(clerk, next(s for s in samples if s["expect"].get("town") and not s["expect"]["flags"]))
    board.until(lambda got: sum(got.named("figures")[-1].data["intake_today"].values()) > before)
    assert (
        as_role("unit_handler", units[0]["code"]).get("supervision", "/v1/streams/board").status_code == 403
    )
