"""The running parts every service has: MongoDB, the bus, the outbox relay, and their lifecycle."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from dispatch_common import metrics, store
from dispatch_common.bus import Bus
from dispatch_common.live import Hub
from dispatch_common.outbox import OutboxRelay
from dispatch_common.readiness import Readiness, readiness
from dispatch_common.settings import ServiceSettings
from dispatch_common.tasks import cancel_and_wait

log = logging.getLogger("dispatch.runtime")

START_ATTEMPT_SECONDS = 60.0
STOP_STEP_SECONDS = 10.0


class Runtime:
    """Connections and background work of one service process.

    `ready_without_nats`: the service answers its requests without NATS (its outbox keeps what it owes
    until NATS is back), so a NATS outage leaves it ready while it owes fewer than `OUTBOX_OWED_LIMIT`
    events; the `READY_WITHOUT_NATS` setting overrides it.
    """

    def __init__(self, settings: ServiceSettings, *, ready_without_nats: bool = False) -> None:
        self.settings = settings
        self.ready_without_nats = (
            ready_without_nats if settings.ready_without_nats is None else settings.ready_without_nats
        )
        self.mongo: AsyncMongoClient = store.connect(
            settings.mongodb_url,
            app_name=settings.service_name,
            trace_commands=settings.trace_mongodb_commands,
        )
        self.db: AsyncDatabase = self.mongo[settings.mongodb_db]
        self.bus = Bus(settings, db=self.db)
        self._outbox_collections: list[AsyncCollection] = []
        self._setup: list[Callable[[], Awaitable[None]]] = []
        self._migrations: list[Callable[[], Awaitable[None]]] = []
        self._periodic: list[tuple[str, float, Callable[[], Awaitable[object]]]] = []
        self._loops: list[asyncio.Task[None]] = []
        self.relay: OutboxRelay | None = None
        self.started = asyncio.Event()
        self.gave_up: BaseException | None = None  # why start-up stopped trying, if it did
        self._task: asyncio.Task[None] | None = None
        self.hubs: list[Hub] = []

    def outbox(self, col: AsyncCollection) -> AsyncCollection:
        """Declare a collection whose documents carry an outbox; returns it for convenience."""
        self._outbox_collections.append(col)
        return col

    def live(self, hub: Hub) -> Hub:
        """Declare a live hub (server-sent events): it reads the stream once the bus is up."""
        self.hubs.append(hub)
        return hub

    def on_start(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run a step (indexes, reference data) after MongoDB answers and before consumers start."""
        self._setup.append(step)

    def on_migrate(self, step: Callable[[], Awaitable[None]]) -> None:
        """Declare a step that builds indexes or migrates data: run at start (unless
        BUILD_INDEXES_AT_START is false) and by `python -m services.migrate` before an upgrade."""
        self._migrations.append(step)

    async def migrate(self) -> None:
        """Build every index and run every migration step of the service (idempotent)."""
        await self.mongo.admin.command("ping")
        for col in self._outbox_collections:
            await store.ensure_outbox_index(col)
        for step in self._migrations:
            await step()

    def every(self, seconds: float, step: Callable[[], Awaitable[object]], *, name: str) -> None:
        """Run a step every `seconds` once the service has started (a failure is logged, then retried)."""
        self._periodic.append((name, seconds, step))

    def adopt(self, task: asyncio.Task[None]) -> None:
        """A task of the service's own (a job) that stopping the service cancels and waits for."""
        self._loops = [t for t in self._loops if not t.done()] + [task]

    async def _loop(self, name: str, seconds: float, step: Callable[[], Awaitable[object]]) -> None:
        done = metrics.PERIODIC_STEP_SUCCESS.labels(self.settings.service_name, name)
        while True:
            try:
                await step()
                done.set_to_current_time()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("periodic step failed; retrying next round", extra={"step": name}, exc_info=True)
            await asyncio.sleep(seconds)

    def nudge(self) -> None:
        """Tell the relay that new events are waiting."""
        if self.relay:
            self.relay.nudge()

    async def _start(self) -> None:
        def report(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "start attempt failed; retrying",
                extra={"attempt": state.attempt_number, "error": repr(error)},
            )

        async for attempt in AsyncRetrying(
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_after_delay(self.settings.start_give_up_seconds),
            retry=retry_if_exception_type(Exception),
            before_sleep=report,
            reraise=True,
        ):
            with attempt:
                async with asyncio.timeout(START_ATTEMPT_SECONDS):  # a hung dependency is retried, and said
                    await self.mongo.admin.command("ping")
                    if self.settings.build_indexes_at_start:
                        await self.migrate()
                    for step in self._setup:
                        await step()
                    await self.bus.start()
        self.relay = OutboxRelay(
            self.bus,
            self._outbox_collections,
            poll_seconds=self.settings.outbox_poll_seconds,
            sweep_grace_seconds=self.settings.outbox_sweep_grace_seconds,
            linger_seconds=self.settings.outbox_linger_seconds,
            mark_delay_seconds=self.settings.outbox_mark_delay_seconds,
        )
        self.relay.start()
        for hub in self.hubs:
            hub.start_in_background(self.bus.broker.config.connection_state.stream)
        self._loops += [asyncio.create_task(self._loop(*spec), name=spec[0]) for spec in self._periodic]
        self.started.set()
        log.info("service started", extra={"service": self.settings.service_name})

    def start_in_background(self) -> None:
        """Connect with retries in the background, so /healthz answers while dependencies come up;
        if start-up gives up, `gave_up` says why (and /healthz fails, so the pod is restarted)."""
        self._task = asyncio.create_task(self._start(), name="runtime-start")
        self._task.add_done_callback(self._note_give_up)

    def _note_give_up(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self.gave_up = task.exception()
        metrics.START_GAVE_UP.labels(self.settings.service_name).set(1)
        log.error(
            "start-up gave up; the service stays unready and /healthz fails",
            extra={"error": repr(self.gave_up), "after_seconds": self.settings.start_give_up_seconds},
        )

    async def start(self) -> None:
        """Connect and start now (tests and tools)."""
        await self._start()

    async def ready(self) -> Readiness:
        """What /readyz reports: each dependency, what the pod can still do, and the events it owes."""
        return readiness(
            mongodb=await store.ping(self.mongo),
            nats=self.bus.connected,
            started=self.started.is_set(),
            consuming=self.bus.consuming,
            owed=store.OWED.count() + (self.relay.in_flight if self.relay else 0),
            limit=self.settings.outbox_owed_limit,
            without_nats=self.ready_without_nats,
            service=self.settings.service_name,
        )

    async def stop(self) -> None:
        """Stop taking work, publish what is owed, close connections. Each step is bounded
        (STOP_STEP_SECONDS): a step that hangs is logged and left, so a shutdown always ends; what
        was not published is published by the next start (the outbox keeps it)."""
        if self._task and not self._task.done():
            self._task.cancel()
        await self._bounded("periodic steps", cancel_and_wait(self._loops))
        for hub in self.hubs:
            await self._bounded(f"live hub {hub.name}", hub.stop())
        if self.relay:
            await self._bounded("outbox relay", self.relay.stop())
        await self._bounded("bus", self.bus.stop())
        await self._bounded("mongodb client", self.mongo.close())

    async def _bounded(self, what: str, step: Awaitable[object]) -> None:
        try:
            async with asyncio.timeout(STOP_STEP_SECONDS):
                await step
        except TimeoutError:
            log.warning("stopping took too long; left", extra={"step": what})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("stopping failed", extra={"step": what}, exc_info=True)
