"""A service creates missing streams with the limits of its settings and never resets limits that
operations changed on a stream that exists."""

import dataclasses

import pytest

from dispatch_common import subjects
from dispatch_common.runtime import Runtime
from dispatch_common.streams import DAY_SECONDS

pytestmark = pytest.mark.integration


async def _start(make_settings, runtimes, **overrides) -> Runtime:
    rt = Runtime(make_settings(service_name="routing", **overrides))
    runtimes.append(rt)
    await rt.start()
    return rt


async def test_a_missing_stream_is_created_with_the_limits_of_the_settings(
    make_settings, runtimes, nats_client
):
    await _start(make_settings, runtimes, stream_dispatch_max_age_days=45, stream_dlq_max_bytes=64 * 1024**2)
    js = nats_client.jetstream()
    dispatch = (await js.stream_info(subjects.DISPATCH_STREAM)).config
    assert dispatch.max_age == 45 * DAY_SECONDS
    assert dispatch.discard == "new"  # a full stream refuses; the outbox keeps the event
    dlq = (await js.stream_info(subjects.DLQ_STREAM)).config
    assert dlq.max_bytes == 64 * 1024**2 and dlq.max_age == 30 * DAY_SECONDS


async def test_limits_that_operations_changed_hold_across_a_restart(make_settings, runtimes, nats_client):
    first = await _start(make_settings, runtimes)
    js = nats_client.jetstream()  # the operators' user
    config = (await js.stream_info(subjects.DISPATCH_STREAM)).config
    assert config.max_age == 60 * DAY_SECONDS
    await js.update_stream(
        config=dataclasses.replace(config, max_age=90 * DAY_SECONDS, max_bytes=8 * 1024**3)
    )
    await first.stop()

    await _start(make_settings, runtimes, stream_dispatch_max_age_days=7)
    kept = (await js.stream_info(subjects.DISPATCH_STREAM)).config
    assert (kept.max_age, kept.max_bytes) == (90 * DAY_SECONDS, 8 * 1024**3)


async def test_a_stream_without_a_subject_a_service_needs_gets_it_and_keeps_its_limits(
    make_settings, runtimes, nats_client
):
    js = nats_client.jetstream()
    await js.add_stream(name=subjects.DLQ_STREAM, subjects=["deadletters.>"], max_age=3 * DAY_SECONDS)
    await _start(make_settings, runtimes)
    config = (await js.stream_info(subjects.DLQ_STREAM)).config
    assert config.subjects == ["deadletters.>", subjects.DLQ_SUBJECTS]
    assert config.max_age == 3 * DAY_SECONDS
