"""The platform's JetStream streams with their limits, and how a service declares them at start.

A service creates a stream that is missing, with the limits of its settings. A stream that exists is
left as operations keep it (limits, replicas, storage): a start only adds the subjects the service
needs and the stream lacks. So `nats stream edit DISPATCH --max-age 90d` holds across restarts.
"""

import dataclasses
import logging
from typing import Literal

from nats.js.api import ConsumerConfig, DiscardPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError

from dispatch_common import subjects
from dispatch_common.settings import ServiceSettings
from dispatch_common.systems import ExternalSystem

log = logging.getLogger("dispatch.streams")
DAY_SECONDS = 86400.0

Declared = Literal["created", "extended", "kept"]


def _stream(
    settings: ServiceSettings,
    name: str,
    subject: str,
    *,
    max_age_days: float,
    max_bytes: int,
    discard: DiscardPolicy,
    max_consumers: int | None = None,
) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=[subject],
        storage=StorageType.FILE,
        duplicate_window=settings.stream_duplicate_window_seconds,
        num_replicas=settings.stream_replicas,
        max_age=max_age_days * DAY_SECONDS,
        max_bytes=max_bytes,
        discard=discard,
        max_consumers=max_consumers,
    )


def platform_streams(settings: ServiceSettings) -> list[StreamConfig]:
    """DISPATCH and DLQ, which every service declares alike (so it does not matter who is first).

    Both refuse new messages when full rather than drop old ones a consumer may not have read yet: a
    refused event stays in its writer's outbox, a refused dead letter on its consumer, until space
    frees (by age) or operations raise the limit. Nothing is lost.
    """
    s = settings
    return [
        _stream(s, name, subject, max_age_days=age, max_bytes=size, discard=DiscardPolicy.NEW)
        for name, subject, age, size in (
            (
                subjects.DISPATCH_STREAM,
                subjects.DISPATCH_SUBJECTS,
                s.stream_dispatch_max_age_days,
                s.stream_dispatch_max_bytes,
            ),
            (subjects.DLQ_STREAM, subjects.DLQ_SUBJECTS, s.stream_dlq_max_age_days, s.stream_dlq_max_bytes),
        )
    ]


def system_streams(settings: ServiceSettings, system: ExternalSystem) -> list[StreamConfig]:
    """A system's INGRESS_<SYSTEM> and OUTCOMES_<SYSTEM>, which intake declares.

    A full ingress refuses the system's next submission (its publish fails and it retries later); a
    full outcome stream drops its oldest answers, so that a system that stopped reading never holds up
    the platform. Each system has its own streams, so one system's flood or silence touches no other.
    """
    return [
        _stream(
            settings,
            subjects.ingress_stream(system.id),
            subjects.ingress_subjects(system.id),
            max_age_days=settings.stream_ingress_max_age_days,
            max_bytes=settings.stream_ingress_max_bytes,
            discard=DiscardPolicy.NEW,
        ),
        _stream(
            settings,
            subjects.outcome_stream(system.id),
            subjects.outcome_subjects(system.id),
            max_age_days=settings.stream_outcomes_max_age_days,
            max_bytes=settings.stream_outcomes_max_bytes,
            discard=DiscardPolicy.OLD,
            max_consumers=16,  # room for the consumers a system may later make itself (replay)
        ),
    ]


def covers(pattern: str, subject: str) -> bool:
    """Whether a subject pattern takes in every subject of another (`dlq.>` takes in `dlq.x.>`)."""
    mine, theirs = pattern.split("."), subject.split(".")
    for i, token in enumerate(mine):
        if token == ">":
            return i < len(theirs)
        if i >= len(theirs) or (token != "*" and token != theirs[i]) or (token == "*" and theirs[i] == ">"):
            return False
    return len(mine) == len(theirs)


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> Declared:
    """Create the stream if it is missing; else only add the subjects it lacks, keeping its limits."""
    assert config.name and config.subjects
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config=config)
            log.info("stream created", extra={"stream": config.name})
            return "created"
        except BadRequestError:  # another service or replica created it a moment ago
            info = await js.stream_info(config.name)
    have = list(info.config.subjects or [])
    missing = [subject for subject in config.subjects if not any(covers(h, subject) for h in have)]
    if not missing:
        return "kept"
    await js.update_stream(config=dataclasses.replace(info.config, subjects=have + missing))
    log.info("stream subjects added", extra={"stream": config.name, "subjects": missing})
    return "extended"


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> Declared:
    """Create a durable consumer if it is missing; one that exists is left as it is."""
    assert config.durable_name
    try:
        await js.consumer_info(stream, config.durable_name)
        return "kept"
    except NotFoundError:
        await js.add_consumer(stream, config=config)
        log.info("consumer created", extra={"stream": stream, "consumer": config.durable_name})
        return "created"
