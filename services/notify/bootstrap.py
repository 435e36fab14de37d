"""Notify's composition root."""

from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from dispatch_common import subjects
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.confidential import Confidentiality, ReadAudit, include_audit_api
from dispatch_common.county import county_name
from dispatch_common.crypto import load_pii_keys
from dispatch_common.http import create_app
from dispatch_common.live import Hub
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.systems import load_systems
from services.notify.adapters.channels import ChannelAdapter, Mailer, SmsGateway, Webhooks
from services.notify.adapters.documents import Documents
from services.notify.adapters.rate_limits import SharedRateLimits
from services.notify.adapters.repository import Messages
from services.notify.config import NotifySettings
from services.notify.container import Notify
from services.notify.documents import Issuing, load_checked
from services.notify.domain.delivery import parse_quiet_hours
from services.notify.domain.message import RetryPolicy
from services.notify.domain.pdf import fonts_from
from services.notify.domain.recipients import Directory
from services.notify.domain.templates import Templates
from services.notify.entrypoints import api, subscribers
from services.notify.entrypoints.letters import CLEAR_PRINTS
from services.notify.live import inbox_reader
from services.notify.sender import Sender


def channel_adapters(settings: NotifySettings, http: httpx.AsyncClient) -> dict[str, ChannelAdapter]:
    """The channels configured: the SMS gateway and SMTP when their settings are given; webhooks always."""
    adapters: dict[str, ChannelAdapter] = {
        "webhook": Webhooks(
            secrets={name: s.get_secret_value() for name, s in settings.webhook_secrets.items()}, client=http
        )
    }
    # The petitioner's phone and e-mail ciphertexts are opened only by these channels; without the keys
    # (production needs PII_ENC_KEYS and PII_HASH_KEY) the service refuses to start rather than fail
    # each message.
    sms = bool(settings.sms_gateway_url and settings.sms_gateway_secret is not None)
    keys = (
        load_pii_keys(environment=settings.environment, keys_dir=settings.keys_dir)
        if sms or settings.smtp_host
        else None
    )
    if settings.sms_gateway_url and settings.sms_gateway_secret is not None:
        adapters["sms"] = SmsGateway(
            url=settings.sms_gateway_url,
            secret=settings.sms_gateway_secret.get_secret_value(),
            keys=keys,
            client=http,
            progress_page_url=settings.progress_page_url,
        )
    if settings.smtp_host:
        adapters["email"] = Mailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            timeout=settings.delivery_timeout_seconds,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            keys=keys,
            progress_page_url=settings.progress_page_url,
        )
    return adapters


def build(settings: NotifySettings | None = None, *, clock: Clock | None = None) -> Notify:
    """Wire notify's parts, its consumers and its sender."""
    from services.notify import feed

    settings = settings or NotifySettings()
    runtime = Runtime(settings)
    messages = Messages(runtime.db)
    runtime.outbox(messages.notifications)
    runtime.on_migrate(messages.ensure_indexes)
    shared = SharedRateLimits(runtime.db["channel_windows"], settings.channel_rate_limits)
    runtime.on_migrate(shared.ensure_indexes)
    clock = clock or SystemClock()
    confidentiality = Confidentiality.build(settings.county_dir, runtime.db, clock)
    runtime.on_migrate(confidentiality.audit.ensure_indexes)
    notify = Notify(
        runtime=runtime,
        settings=settings,
        messages=messages,
        templates=Templates(settings.templates_file, max_segments=settings.sms_max_segments),
        directory=Directory(settings.recipients_file),
        clock=clock,
        timezone=ZoneInfo(settings.county_timezone),
        quiet=parse_quiet_hours(settings.quiet_hours),
        county_name=county_name(settings.county_dir),
        confidentiality=confidentiality,
        systems=load_systems(settings.ingress_systems_file),
        fonts=fonts_from(settings.pdf_body_font, settings.pdf_title_font),  # FontProblem: refused at start
    )
    notify.clear_prints = ReadAudit(runtime.db, clock, collection=CLEAR_PRINTS)
    runtime.on_migrate(notify.clear_prints.ensure_indexes)
    documents = Documents(runtime.db)
    runtime.on_migrate(documents.ensure_indexes)
    book = load_checked(settings.documents_file, settings.county_dir, notify.templates)
    notify.issuing = Issuing(book=book, templates=notify.templates, archive=documents)
    notify.live = runtime.live(
        Hub(
            "notify",
            filters=(subjects.NOTIFICATION_SENT,),
            prepare=inbox_reader(messages),
            window=settings.live_window,
            queue_size=settings.live_queue_size,
        )
    )
    http = httpx.AsyncClient(timeout=settings.delivery_timeout_seconds)
    notify.http = http
    notify.adapters = channel_adapters(settings, http)
    notify.sender = Sender(
        messages=messages,
        adapters=notify.adapters,
        directory=notify.directory,
        clock=notify.clock,
        policy=RetryPolicy(
            max_attempts=settings.delivery_max_attempts,
            base_seconds=settings.delivery_backoff_seconds,
            cap_seconds=settings.delivery_backoff_max_seconds,
            lease_seconds=settings.delivery_lease_seconds,
        ),
        quiet=notify.quiet,
        timezone=notify.timezone,
        rates=settings.channel_rate_limits,
        concurrency=settings.sender_concurrency,
        poll_seconds=settings.sender_poll_seconds,
        timeout_seconds=settings.delivery_timeout_seconds,
        shared=shared,
        on_events=runtime.nudge,
    )
    notify.reloads = Reloads(runtime.bus, replica=settings.replica_name, apply=notify.reload_files)
    subscribers.register(notify)
    feed.register(notify)  # the outcome feeds some systems hear as webhooks
    sender = notify.sender
    for channel in notify.adapters:
        # The step runs for as long as the service does; `every` restarts it if it ever fails.
        step = _channel_loop(sender, channel)
        runtime.every(settings.sender_poll_seconds, step, name=f"notify-send-{channel}")
    runtime.every(max(1.0, settings.delivery_lease_seconds / 4), sender.recover, name="notify-recover")
    return notify


def _channel_loop(sender: Sender, channel: str) -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        await sender.run_channel(channel)

    return loop


def create(settings: NotifySettings | None = None) -> FastAPI:
    """The notify HTTP app."""
    notify = build(settings)

    def include(app: FastAPI) -> None:
        api.include(app)
        include_audit_api(app)

    app = create_app(
        notify.runtime,
        title="Notify",
        description="Notices to petitioners, units and leaders (一信三反馈): SMS, e-mail, webhooks, inbox.",
        include=include,
    )
    app.state.notify = notify
    app.state.confidentiality = notify.confidentiality
    app.state.resolvers = api.resolvers(notify)
    return app
