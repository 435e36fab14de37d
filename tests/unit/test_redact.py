"""Secrets never reach traces or logs: the scrubber, the log formatter and the HTTP span hook."""

import io
import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devtools.run import addresses
from devtools.stack import Stack
from dispatch_common import redact
from dispatch_common.telemetry import ScrubbingJsonFormatter
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZXYtY2xlcmsifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("mongodb://dispatch:S3cret-pw@db1:27017,db2:27017/?replicaSet=rs0", "S3cret-pw"),
        ("nats://s3cr3t-token@nats:4222", "s3cr3t-token"),
        ("GET /open311/v2/services.json?api_key=k-123456789&jurisdiction_id=x", "k-123456789"),
        ("api_key=k-123456789&service_code=0101&description=路灯坏了", "k-123456789"),
        ('{"password": "hunter2hunter2", "user": "ops"}', "hunter2hunter2"),
        (f"Authorization: Bearer {JWT}", JWT),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        (f"a token {JWT} in prose", JWT),
        ('HTTP Request: POST https://sms.example/send?token=gw-tok-98765 "HTTP/1.1 502"', "gw-tok-98765"),
        ("https://oa.example/hook?sig=abcdef0123&x=1", "abcdef0123"),
    ],
)
def test_the_scrubber_removes_credentials_keys_and_tokens(text, secret):
    cleaned = redact.scrub(text)
    assert secret not in cleaned and redact.REDACTED in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "basic information about the case",
        "事项编号990102-2026-000123, key_id k1, monkey=banana",
        "https://oa.example/hook?case_id=42",
        "the contact cannot be decrypted: UndecryptableError",
    ],
)
def test_the_scrubber_leaves_ordinary_text_alone(text):
    assert redact.scrub(text) == text


def test_secret_settings_are_registered_and_scrubbed_wherever_they_appear():
    notify = NotifySettings(
        sms_gateway_secret="gateway-hmac-key-1",
        webhook_secrets={"hotline": "webhook-hmac-key-2"},
        smtp_password="smtp-password-3",
        mongodb_url="mongodb://svc:mongo-password-4@db:27017/",
    )
    intake = IntakeSettings(open311_api_keys=["open311-app-key-5"], nats_url="nats://nats-token-6@nats:4222")
    redact.register_settings(notify)
    redact.register_settings(intake)
    secrets = ("gateway-hmac-key-1", "webhook-hmac-key-2", "smtp-password-3", "mongo-password-4")
    secrets += ("open311-app-key-5", "nats-token-6")
    line = " ".join(secrets)
    assert redact.scrub(f"signed with {line}") == "signed with " + " ".join([redact.REDACTED] * 6)


def test_log_lines_carry_no_secret_in_message_fields_or_exceptions():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ScrubbingJsonFormatter("%(levelname)s %(name)s %(message)s"))
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("cannot reach mongodb://dispatch:S3cret-pw@db1:27017/?authSource=admin")
        log.warning("send failed", extra={"reason": "POST https://gw.example/send?token=gw-tok-98765"})
        log.warning("login", extra={"smtp_password": "smtp-secret-77", "user": "ops"})
        try:
            raise RuntimeError(f"upstream refused Bearer {JWT}")
        except RuntimeError:
            log.exception("call failed")
    finally:
        log.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    written = stream.getvalue()
    for secret in ("S3cret-pw", "gw-tok-98765", "smtp-secret-77", JWT):
        assert secret not in written
    assert lines[2]["user"] == "ops" and lines[2]["smtp_password"] == redact.REDACTED
    assert "RuntimeError" in lines[3]["exc_info"]


async def test_the_http_span_keeps_its_url_without_the_api_key():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()

    @app.get("/open311/v2/services.json")
    async def services(api_key: str | None = None) -> list[str]:
        return []

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        server_request_hook=redact.server_request_hook,
        exclude_spans=["receive", "send"],
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        await client.get("/open311/v2/services.json", params={"api_key": "k-123456789", "x": "1"})
    spans = exporter.get_finished_spans()
    attributes = json.dumps([dict(s.attributes or {}) for s in spans])
    assert spans and "k-123456789" not in attributes
    assert "api_key=REDACTED" in attributes


def test_make_run_prints_the_database_url_without_its_password(tmp_path):
    stack = Stack(
        run_dir=tmp_path,
        nats_url="nats://ops:nats-pass-1@nats:4222",
        mongodb_url="mongodb://ops:mongo-pass-2@db1,db2/?replicaSet=rs0",
    )
    printed = "\n".join(addresses(stack))
    assert "nats-pass-1" not in printed and "mongo-pass-2" not in printed
    assert "mongodb://REDACTED@db1,db2/?replicaSet=rs0" in printed
