"""The console tells the people at the dispatch center when the platform falls behind (issue 20): with
notify's consumer paused on the real JetStream server, intake keeps accepting cases, notify's /readyz
reports the backlog past CONSUMER_LAG_WARNING, and the console's banner names notify with the size of
its backlog; once the backlog drains the banner goes; a service that stops answering is named too."""

import asyncio
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


@pytest.fixture(scope="module")
def lagging_stack(tmp_path_factory):
    """A stack of its own: this test pauses a consumer and kills a service."""
    s = start_stack(
        tmp_path_factory.mktemp("backlog"), {"CONSUMER_LAG_WARNING": str(WARNING), "HEALTH_SECONDS": "1"}
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
