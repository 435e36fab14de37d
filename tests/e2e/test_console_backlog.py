"""Back-pressure that tells the truth (issue 20), on a stack of its own.

- The console tells the people at the dispatch center when the platform falls behind: with notify's
  consumer paused on the real JetStream server, intake keeps accepting cases, notify's /readyz reports
  the backlog past CONSUMER_LAG_WARNING, and the console's banner names notify with the size of its
  backlog; once the backlog drains the banner goes; a service that stops answering is named too.
- When the store stops keeping up (the embedded server frozen with SIGSTOP), a caller gets `503 busy`
  with `Retry-After` within the request budget instead of its own timeout, and the submission sent
  again with the same Idempotency-Key once the store is back makes exactly one case.
"""

import asyncio
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import nats
import pytest

from devtools.keys import issue_token
from devtools.nats_auth import connect_options
from dispatch_common import subjects
from tests.e2e.browser import shot, signed_in
from tests.e2e.conftest import Api, start_stack
from tests.e2e.flow import submission

pytestmark = pytest.mark.e2e

WARNING = 2  # CONSUMER_LAG_WARNING of this stack: a handful of cases puts notify past it
BUDGET = 3  # REQUEST_BUDGET_SECONDS of this stack


@pytest.fixture(scope="module")
def lagging_stack(tmp_path_factory):
    """A stack of its own: this test pauses a consumer and kills a service."""
    s = start_stack(
        tmp_path_factory.mktemp("backlog"),
        {"CONSUMER_LAG_WARNING": str(WARNING), "HEALTH_SECONDS": "1", "REQUEST_BUDGET_SECONDS": str(BUDGET)},
    )
    yield s
    s.stop()


def pause_notify(stack, until: datetime | None) -> None:
    """Pause notify's durable consumer until then (None: resume it), as an operator would with the
    `nats` CLI. In a thread of its own: Playwright's synchronous API holds this thread's event loop."""

    async def act() -> None:
        nc = await nats.connect(stack.nats_url, **connect_options(stack.keys_dir, "ops"))
        try:
            js = nc.jetstream()
            if until is None:
                await js.resume_consumer(subjects.DISPATCH_STREAM, subjects.NOTIFY_EVENTS)
            else:
                await js.pause_consumer(subjects.DISPATCH_STREAM, subjects.NOTIFY_EVENTS, until.isoformat())
        finally:
            await nc.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, act()).result()


def test_the_console_names_a_service_that_falls_behind_and_one_that_stops_answering(
    chromium, lagging_stack, samples
):
    stack = lagging_stack
    page = signed_in(chromium, stack, "dispatcher")
    page.wait_for_selector("#live[data-state='live']")
    assert page.locator("#pipeline").is_hidden()

    pause_notify(stack, datetime.now(UTC) + timedelta(minutes=10))
    clerk = Api(stack, issue_token(stack.keys_dir, role="reception_clerk"))
    for sample in samples[:6]:
        r = clerk.post("intake", "/v1/cases", json=submission(sample))
        assert r.status_code == 201, r.text  # intake keeps accepting: the cases wait in the stream
    lagging = page.locator("#pipeline .lagging[data-service='notify'][data-kind='behind']")
    lagging.wait_for(timeout=20_000)
    text = lagging.inner_text()
    assert "通知" in text and "积压" in text and f"警戒线 {WARNING} 条" in text, text
    ready = httpx.get(stack.url("notify") + "/readyz").json()
    assert ready["behind"] and ready["consumer_lag"][subjects.NOTIFY_EVENTS] > WARNING, ready
    assert ready["lag_warning"] == WARNING
    shot(page, "console-backlog")

    pause_notify(stack, None)  # notify works through its backlog; the banner goes
    page.wait_for_selector("#pipeline[hidden]", state="attached", timeout=30_000)

    stack.procs["mediation"].kill()
    page.locator("#pipeline .lagging[data-service='mediation'][data-kind='down']").wait_for(timeout=20_000)
    assert "调解：无法连接" in page.inner_text("#pipeline")
    shot(page, "console-service-down")
    assert not page.errors, page.errors
    page.context.close()


def test_a_store_that_stops_keeping_up_gets_callers_a_503_busy_not_a_timeout(lagging_stack, samples):
    stack = lagging_stack
    store = stack.procs["nx-27017"].popen.pid
    clerk = Api(stack, issue_token(stack.keys_dir, role="reception_clerk"))
    clerk.client.timeout = httpx.Timeout(10 * BUDGET)  # far past the budget: a hang would show as a timeout
    body = submission(samples[0])
    key = {"Idempotency-Key": f"busy-{uuid.uuid4()}"}
    os.kill(store, signal.SIGSTOP)  # the store takes connections and answers nothing
    try:
        r = clerk.post("intake", "/v1/cases", json=body, headers=key)
        read = clerk.get("intake", f"/v1/cases/{uuid.uuid4()}")
    finally:
        os.kill(store, signal.SIGCONT)
    for answer in (r, read):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "busy" and int(answer.headers["Retry-After"]) >= 1
    metrics = httpx.get(stack.url("intake") + "/metrics").text
    assert 'dispatch_http_busy_total{service="intake"} 2.0' in metrics

    again = clerk.post("intake", "/v1/cases", json=body, headers=key)  # the store is back
    assert again.status_code in (200, 201), again.text
    case_no = again.json()["case_no"]
    third = clerk.post("intake", "/v1/cases", json=body, headers=key)
    assert third.status_code == 200 and third.json()["case_no"] == case_no  # one case for the key
