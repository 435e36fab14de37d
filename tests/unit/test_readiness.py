"""/readyz says what a pod can still do: intake stays in its Service without NATS while its outbox
takes the events it owes; every service leaves it without MongoDB."""

from dispatch_common.readiness import readiness

UP = {"mongodb": True, "nats": True, "started": True, "consuming": True}


def _ready(**changes: object):  # type: ignore[no-untyped-def]
    values = {**UP, "owed": 0, "limit": 100, "without_nats": False, "service": "probe"} | changes
    return readiness(**values)  # type: ignore[arg-type]


def test_everything_up_is_ready_and_can_do_everything() -> None:
    answer = _ready()
    assert answer.ready and answer.status == "ready"
    assert answer.can == {"take_requests": True, "publish_events": True, "consume_events": True}


def test_without_nats_a_service_that_needs_it_is_not_ready() -> None:
    answer = _ready(nats=False, consuming=False)
    assert not answer.ready and answer.status == "not ready"
    assert answer.can["take_requests"] and not answer.can["publish_events"]


def test_without_nats_intake_stays_ready_while_its_outbox_takes_the_events_it_owes() -> None:
    answer = _ready(nats=False, consuming=False, without_nats=True, owed=42)
    assert answer.ready and answer.status == "degraded"
    assert answer.body()["outbox"] == {"owed_events": 42, "limit": 100}
    assert answer.body()["can"]["take_requests"] and not answer.body()["can"]["consume_events"]


def test_intake_leaves_its_service_once_it_owes_its_limit_of_events() -> None:
    assert not _ready(nats=False, without_nats=True, owed=100).ready


def test_without_mongodb_no_service_is_ready() -> None:
    for without_nats in (False, True):
        answer = _ready(mongodb=False, without_nats=without_nats)
        assert not answer.ready and not answer.can["take_requests"]


def test_before_start_up_finished_no_service_is_ready() -> None:
    assert not _ready(started=False, without_nats=True).ready
