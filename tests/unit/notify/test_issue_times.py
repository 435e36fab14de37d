"""The documents of one batch are issued a millisecond apart, in order, after all issued before, so a
case's documents list in the order they were issued (`created_ts`) even when one batch issues several."""

from datetime import UTC, datetime

from services.notify.documents import issue_times


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def test_a_batch_issues_its_documents_in_order_a_millisecond_apart_after_the_last_batch():
    now = datetime(2026, 12, 6, 3, 0, 0, 123456, tzinfo=UTC)
    first = [ms(t) for t in issue_times(now, 3)]
    assert first[1] == first[0] + 1 and first[2] == first[1] + 1 and first[0] >= ms(now)
    again = [ms(t) for t in issue_times(now, 2)]  # a next batch read within the same millisecond
    assert again[0] > first[-1] and again[1] == again[0] + 1
