"""Per-client rate limits hold across intake replicas: two processes count in one shared window.

Two more intake processes join the stack's servers with small limits (a window of a day, so that the
test never straddles two windows). Requests of one client go to both in turn: the sum admitted is
the limit, then 429 with Retry-After; another client is not affected. Open311 apps are limited by
their key, and calls without a valid key by their address, answered in Open311's error format.
"""

import json
import uuid

import httpx
import pytest

from devtools.keys import issue_token
from devtools.stack import Stack

pytestmark = pytest.mark.e2e

SUBMITS, READS = 5, 4
LIMITS = {
    "submit": {"requests": SUBMITS, "window_seconds": 86_400},
    "read": {"requests": 1000, "window_seconds": 86_400},
    "read:open311": {"requests": READS, "window_seconds": 86_400},
}


@pytest.fixture(scope="module")
def replicas(stack: Stack) -> list[str]:
    env = {"RATE_LIMIT_ENABLED": "true", "RATE_LIMITS": json.dumps(LIMITS)}
    for number in (71, 72):
        stack.start_replica("intake", number, env=env)
    return stack.replica_urls["intake"][-2:]


def submit(base: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/cases",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "channel": "hotline_12345",
            "text": "小区门口路灯坏了，晚上很黑。",
            "address": "城关街道幸福锦绣家园",
        },
        timeout=30,
    )


def test_one_clients_submissions_are_limited_across_both_replicas(stack: Stack, replicas: list[str]) -> None:
    keys = stack.run_dir / "keys"
    client = issue_token(keys, role="reception_clerk", subject=f"clerk-{uuid.uuid4().hex[:8]}")
    answers = [submit(replicas[i % 2], client) for i in range(SUBMITS + 3)]
    codes = [a.status_code for a in answers]
    assert codes.count(201) == SUBMITS and set(codes) == {201, 429}, codes
    assert codes[:SUBMITS] == [201] * SUBMITS  # the first ones, on either replica
    for refused in answers[SUBMITS:]:
        assert int(refused.headers["Retry-After"]) >= 1
        assert "too many submit requests" in refused.json()["detail"]
    other = issue_token(keys, role="reception_clerk", subject=f"clerk-{uuid.uuid4().hex[:8]}")
    assert submit(replicas[0], other).status_code == 201
    assert submit(replicas[1], other).status_code == 201


def test_open311_apps_are_limited_by_key_and_keyless_callers_by_address(
    stack: Stack, replicas: list[str]
) -> None:
    key = (stack.run_dir / "keys" / "open311_api_key").read_text().strip()
    answers = [
        httpx.get(f"{replicas[i % 2]}/open311/v2/services.json", params={"api_key": key}, timeout=30)
        for i in range(READS + 2)
    ]
    codes = [a.status_code for a in answers]
    assert codes == [200] * READS + [429, 429], codes
    assert answers[-1].json() == [{"code": 429, "description": answers[-1].json()[0]["description"]}]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    # without a valid key: 403 until the address has had its share, then 429 as well
    wrong = [
        httpx.get(f"{replicas[i % 2]}/open311/v2/services.json", params={"api_key": "guess"}, timeout=30)
        for i in range(READS + 1)
    ]
    assert [a.status_code for a in wrong] == [403] * READS + [429]
