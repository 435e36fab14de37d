"""Faults as clients and operators see them, on the real processes: with NATS killed intake stays ready
(degraded), registers cases and owes their events, which go out when NATS is back, while the other
services leave their Services; with the store killed a submission gets a problem+json 503 with
Retry-After, and the same submission is registered once the store is back."""

import httpx
import pytest

from devtools.keys import issue_token
from tests.e2e.conftest import Api, start_stack
from tests.e2e.flow import settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A stack of its own: this test kills NATS and the store."""
    s = start_stack(tmp_path_factory.mktemp("outages"))
    yield s
    s.stop()


def _readyz(stack, service: str) -> httpx.Response:
    return httpx.get(f"{stack.url(service)}/readyz", timeout=10)


def test_without_nats_intake_stays_ready_and_owes_the_events_it_publishes_when_nats_is_back(
    own_stack, samples
):
    clerk = Api(own_stack, issue_token(own_stack.run_dir / "keys", role="reception_clerk"))
    dispatcher = Api(own_stack, issue_token(own_stack.run_dir / "keys", role="dispatcher"))
    nats = own_stack.procs["nats-server"]
    nats.kill()
    try:
        wait_for(
            lambda: _readyz(own_stack, "intake").json()["checks"]["nats"] is False,
            what="intake to see NATS gone",
        )
        created = clerk.post(
            "intake", "/v1/cases", json=submission(samples[0]), headers={"Idempotency-Key": "outage-1"}
        )
        assert created.status_code == 201
        ready = _readyz(own_stack, "intake")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["can"] == {
            "take_requests": True,
            "publish_events": False,
            "consume_events": False,
        }
        assert ready.json()["outbox"]["owed_events"] >= 2  # case.received and case.screened
        routing = wait_for(
            lambda: _readyz(own_stack, "routing").status_code == 503 or None, what="routing unready"
        )
        assert routing
    finally:
        nats.start()
    wait_for(
        lambda: _readyz(own_stack, "intake").json()["outbox"]["owed_events"] == 0,
        timeout=60,
        what="owed events published",
    )
    assert _readyz(own_stack, "intake").json()["status"] == "ready"
    settled_case_file(dispatcher, created.json()["case_id"], timeout=60)


def test_with_the_store_down_a_submission_gets_a_problem_503_and_is_registered_once_it_is_back(
    own_stack, samples
):
    clerk = Api(own_stack, issue_token(own_stack.run_dir / "keys", role="reception_clerk"))
    store = own_stack.procs["nx-27017"]
    body, key = submission(samples[1]), {"Idempotency-Key": "outage-store-1"}
    store.kill()
    try:
        refused = clerk.post("intake", "/v1/cases", json=body, headers=key)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["code"] == "store_unavailable" and refused.json()["status"] == 503
        assert _readyz(own_stack, "intake").status_code == 503
    finally:
        store.start()
    again = wait_for(
        lambda: (
            (r := clerk.post("intake", "/v1/cases", json=body, headers=key)).status_code in (200, 201) and r
        ),
        timeout=60,
        what="the submission registered once the store is back",
    )
    replay = clerk.post("intake", "/v1/cases", json=body, headers=key)
    assert replay.status_code == 200 and replay.json()["case_id"] == again.json()["case_id"]
