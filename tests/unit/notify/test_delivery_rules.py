"""Delivery rules without I/O: SMS parts, back-off, quiet hours, a message's life, settings, signatures."""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from dispatch_common.crypto import mask_email
from services.notify.adapters.channels import sign, verify
from services.notify.config import NotifySettings
from services.notify.domain.delivery import (
    Outcome,
    backoff_seconds,
    fit_sms,
    mask_url,
    parse_quiet_hours,
    sms_segments,
)
from services.notify.domain.message import RetryPolicy, interrupted, message_id, settle, to_ms

CHINA = ZoneInfo("Asia/Shanghai")
POLICY = RetryPolicy(max_attempts=4, base_seconds=2.0, cap_seconds=60.0, lease_seconds=30.0)
NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in the county


def test_sms_parts_follow_ucs2_and_gsm7_limits():
    assert sms_segments("字" * 70) == 1
    assert sms_segments("字" * 71) == 2  # split: 67 a part
    assert sms_segments("字" * 134) == 2 and sms_segments("字" * 135) == 3
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2 and sms_segments("a" * 306) == 2
    assert sms_segments("a" * 159 + "字") == 3  # one Chinese character makes the whole text UCS-2
    text, cut = fit_sms("字" * 300, 3)
    assert cut and sms_segments(text) == 3 and text.endswith("…")
    assert fit_sms("短", 1) == ("短", False)


def test_back_off_doubles_with_equal_jitter_and_never_shrinks():
    rng = random.Random(7)
    for attempt in range(1, 8):
        delay = min(60.0, 2.0 * 2 ** (attempt - 1))
        waits = [backoff_seconds(attempt, base=2.0, cap=60.0, rng=rng) for _ in range(200)]
        assert all(delay / 2 <= w <= delay for w in waits)
        assert len({round(w, 6) for w in waits}) > 100  # jittered, not one value
    assert backoff_seconds(10, base=2.0, cap=60.0, rng=rng) <= 60.0


@pytest.mark.parametrize(
    ("local", "held_until"),
    [
        ("2026-03-02T20:59", None),
        ("2026-03-02T21:00", "2026-03-03T08:00"),
        ("2026-03-02T23:30", "2026-03-03T08:00"),
        ("2026-03-03T07:59", "2026-03-03T08:00"),
        ("2026-03-03T08:00", None),
    ],
)
def test_quiet_hours_span_midnight_in_county_time(local, held_until):
    quiet = parse_quiet_hours("21:00-08:00")
    moment = datetime.fromisoformat(local).replace(tzinfo=CHINA).astimezone(UTC)
    released = quiet.release(moment, CHINA)
    expected = datetime.fromisoformat(held_until).replace(tzinfo=CHINA) if held_until else moment
    assert released == expected and released.tzinfo is not None


def test_quiet_hours_within_one_day_and_bad_values():
    quiet = parse_quiet_hours("12:00-13:30")
    assert quiet.holds(NOON, CHINA) and quiet.release(NOON, CHINA) == NOON + timedelta(minutes=90)
    assert parse_quiet_hours("") is None
    for bad in ("21:00-", "21:00", "08:00-08:00", "25:00-08:00", "a-b-c"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


def test_addresses_are_masked():
    assert mask_email("zhangsan@county.example") == "z***@county.example"
    assert mask_url("https://user:pw@oa.example/hook?token=abc") == "https://oa.example/…"


def doc(**extra):
    return {"_id": "m1", "channel": "sms", "urgent": False, "attempts": 0, **extra}


def test_a_try_settles_as_sent_failed_with_a_back_off_or_dead():
    sent = settle(
        doc(), Outcome("delivered", "HTTP 200", "gw-1"), now=NOON, policy=POLICY, quiet=None, tz=CHINA
    )
    assert (sent["status"], sent["attempts"], sent["sent_at"], sent["due_ts"]) == ("sent", 1, NOON, None)
    assert sent["provider_ref"] == "gw-1" and sent["claim"] is None and sent["lease_ts"] is None

    retry = settle(
        doc(attempts=1), Outcome("retry", "HTTP 503"), now=NOON, policy=POLICY, quiet=None, tz=CHINA
    )
    assert retry["status"] == "failed" and retry["attempts"] == 2 and retry["last_error"] == "HTTP 503"
    assert to_ms(NOON + timedelta(seconds=2)) <= retry["due_ts"] <= to_ms(NOON + timedelta(seconds=4))

    later = settle(
        doc(attempts=1),
        Outcome("retry", "HTTP 429", retry_after=30),
        now=NOON,
        policy=POLICY,
        quiet=None,
        tz=CHINA,
    )
    assert later["due_ts"] >= to_ms(NOON + timedelta(seconds=30))

    last = settle(
        doc(attempts=3), Outcome("retry", "timed out"), now=NOON, policy=POLICY, quiet=None, tz=CHINA
    )
    assert last["status"] == "dead" and last["dead_reason"] == "gave up after 4 tries; last: timed out"
    refused = settle(
        doc(), Outcome("permanent", "HTTP 400: bad"), now=NOON, policy=POLICY, quiet=None, tz=CHINA
    )
    assert (
        refused["status"] == "dead"
        and refused["attempts"] == 1
        and refused["dead_reason"].startswith("refused")
    )


def test_a_retry_of_a_non_urgent_sms_waits_out_quiet_hours_an_urgent_one_does_not():
    quiet = parse_quiet_hours("21:00-08:00")
    evening = datetime(2026, 3, 2, 21, 30, tzinfo=CHINA)
    morning = to_ms(datetime(2026, 3, 3, 8, 0, tzinfo=CHINA))
    held = settle(doc(), Outcome("retry", "x"), now=evening, policy=POLICY, quiet=quiet, tz=CHINA)
    assert held["due_ts"] == morning
    urgent = settle(
        doc(urgent=True), Outcome("retry", "x"), now=evening, policy=POLICY, quiet=quiet, tz=CHINA
    )
    assert urgent["due_ts"] < morning
    email = settle(
        doc(channel="email"), Outcome("retry", "x"), now=evening, policy=POLICY, quiet=quiet, tz=CHINA
    )
    assert email["due_ts"] < morning


def test_an_interrupted_try_is_sent_again_only_where_the_channel_recognises_repeats():
    again = interrupted(doc(attempts=1), now=NOON, confirms=True)
    assert again["status"] == "failed" and again["due_ts"] == to_ms(NOON) and again["attempts"] == 2
    given_up = interrupted(doc(channel="email"), now=NOON, confirms=False)
    assert (
        given_up["status"] == "dead"
        and given_up["due_ts"] is None
        and "cannot confirm" in given_up["dead_reason"]
    )


def test_the_message_id_is_the_same_for_the_same_cause_kind_recipient_and_channel():
    one = message_id("e1", "acceptance", "petitioner", "sms")
    assert one == message_id("e1", "acceptance", "petitioner", "sms")
    assert (
        len(
            {
                one,
                message_id("e2", "acceptance", "petitioner", "sms"),
                message_id("e1", "acceptance", "petitioner", "inbox"),
                message_id("e1", "reply", "petitioner", "sms"),
            }
        )
        == 4
    )


def test_signatures_cover_the_timestamp_and_the_body():
    signature = sign("s3cret", "1700000000", b'{"a":1}')
    assert signature.startswith("sha256=") and verify("s3cret", "1700000000", b'{"a":1}', signature)
    assert not verify("s3cret", "1700000001", b'{"a":1}', signature)
    assert not verify("other", "1700000000", b'{"a":1}', signature)


def test_settings_refuse_unsigned_gateways_placeholders_in_production_and_bad_values():
    with pytest.raises(ValidationError, match="SMS_GATEWAY_SECRET"):
        NotifySettings(sms_gateway_url="http://127.0.0.1:9/sms")
    production = {
        "environment": "production",
        "jwt_jwks_url": "https://idp.example/jwks",
        "jwt_issuer": "idp",
        "nats_nkey_seed_file": "/run/secrets/nats/seed.nk",
    }
    with pytest.raises(ValidationError, match="placeholder"):
        NotifySettings(
            **production, sms_gateway_url="https://sms.example/send", sms_gateway_secret="REPLACE_ME"
        )
    with pytest.raises(ValidationError, match="placeholder"):
        NotifySettings(**production, webhook_secrets={"hotline": "REPLACE_ME"})
    assert NotifySettings(**production, sms_gateway_url="https://sms.example/send", sms_gateway_secret="k9#x")
    with pytest.raises(ValidationError, match="quiet hours"):
        NotifySettings(quiet_hours="nine to five")
    with pytest.raises(ValidationError, match="unknown channels"):
        NotifySettings(channel_rate_limits={"pigeon": 1})
