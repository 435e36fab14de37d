"""Routing's container: everything its handlers and entrypoints need, built once per
process by bootstrap.py (which imports the entrypoints; they import this, never bootstrap)."""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.clock import Clock
from dispatch_common.confidential import Confidentiality, ReadAudit
from dispatch_common.jobs import Jobs
from dispatch_common.live import Hub
from dispatch_common.objection import return_limit_problems
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.workdays import WorkingCalendar
from services.routing import returns
from services.routing.domain.county import CountyPackage, CountyPackageError
from services.routing.domain.incidents import IncidentPolicy
from services.routing.domain.learned import Example
from services.routing.domain.learned_places import PlaceExample
from services.routing.engine import RoutingEngine

log = logging.getLogger("dispatch.routing")


@dataclass
class Routing:
    """Everything routing's handlers need. `engine` is replaced whole on reload or training."""

    runtime: Runtime
    routes: AsyncCollection
    engine: RoutingEngine
    clock: Clock
    county_dir: Path
    deadline_policy_file: Path
    calendar: WorkingCalendar
    timezone: ZoneInfo
    loaded_at: datetime
    reads: ReadAudit
    trained_at: datetime | None = None
    trained_on: int = 0
    places_seen: int = 0  # place examples at the last training
    reloads: Reloads | None = None
    live: Hub | None = None  # the replica's reader of route events for the queue stream
    incidents: IncidentPolicy = field(default_factory=IncidentPolicy)  # linking calls of one matter
    replays: Jobs | None = None  # what-if replays (replay.py) and their differences
    replay_workers: int = 0  # worker processes a replay decides in (0: a thread of the service)
    approvals: AsyncCollection | None = None  # packages activated on a replay's report
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def confidentiality(self) -> Confidentiality:
        """Who reads confidential reports, by the package in use (a reload may change it), and the
        audit of their reads."""
        return Confidentiality(self.engine.package.rules.confidential, self.reads)

    @property
    def return_policy(self) -> returns.ReturnPolicy:
        """How long units may return a case, from the package's rules."""
        return returns.ReturnPolicy(
            working_days=self.engine.package.rules.return_working_days,
            calendar=self.calendar,
            timezone=self.timezone,
        )

    def package_summary(self) -> dict[str, Any]:
        """The package in use, for the admin endpoint and logs."""
        p = self.engine.package
        return {
            "county": p.county_code,
            "package_version": p.version,
            "path": str(self.county_dir),
            "loaded_at": self.loaded_at,
            "areas": len(p.areas),
            "units": len(p.units),
            "gazetteer": len(p.gazetteer),
            "categories": len(p.taxonomy.first) + len(p.taxonomy.sub),
        }

    async def reload(self, expect_version: str | None = None) -> bool:
        """Load and validate the package on disk; keep the current one if it has problems (raised),
        or if it is not `expect_version` (PackageMismatch: the package a replay approved).

        True when the content changed. A model learned from corrections is trained again on the new
        package, since the taxonomy may have changed.
        """
        async with self._lock:
            engine = await asyncio.to_thread(load_engine, self.county_dir, self.deadline_policy_file)
            if expect_version is not None and engine.version != expect_version:
                raise PackageMismatch(engine.version, expect_version)
            changed = engine.version != self.engine.version
            self.engine, self.loaded_at = engine, self.clock.now()
            log.info("county package reloaded", extra={**self.package_summary(), "changed": changed})
        if changed:
            await self.train()
        return changed

    async def reload_package(self, expect_version: str | None = None) -> dict[str, Any]:
        """`reload`, answered with the package now in use and whether it changed."""
        changed = await self.reload(expect_version)
        return {**self.package_summary(), "changed": changed}

    async def train_at_start(self) -> None:
        """Train on the corrections stored so far, before the service takes work."""
        await self.train()

    async def examples(self, package: CountyPackage | None = None) -> list[Example]:
        """The labelled examples people's corrections left on routes, in a known taxonomy (of the
        package in use, or of `package`)."""
        taxonomy = (package or self.engine.package).taxonomy
        out: list[Example] = []
        # a whole sub-document in the projection: the embedded server drops dotted projections
        cursor = self.routes.find({"labelled": True}, {"request": 1, "label": 1})
        async for doc in cursor:
            label = doc.get("label") or {}
            if label.get("code") in taxonomy.first:
                sub = label.get("subcode")
                out.append(
                    Example(doc["request"]["text"], label["code"], sub if sub in taxonomy.sub else None)
                )
        return out

    async def place_examples(self, package: CountyPackage | None = None) -> list[PlaceExample]:
        """The addresses people placed by hand (an override's area), in an area of the package (in
        use, or `package`)."""
        areas = (package or self.engine.package).areas
        out: list[PlaceExample] = []
        cursor = self.routes.find({"place_labelled": True}, {"request": 1, "place_label": 1})
        async for doc in cursor:
            area = (doc.get("place_label") or {}).get("area")
            address = doc["request"].get("address")
            if area in areas and address:
                out.append(PlaceExample(address, area))
        return out

    async def train(self) -> dict[str, Any]:
        """Train the classifier from every labelled example and learn the places people set (in a
        thread), and use them."""
        async with self._lock:
            examples = await self.examples()
            places = await self.place_examples()
            engine = await asyncio.to_thread(self.engine.train, examples)
            self.engine = await asyncio.to_thread(engine.learn_places, places)
            self.places_seen = len(places)
            self.trained_at = self.clock.now()
            self.trained_on = len(examples) if engine.learned is not None else 0
        state = await self.classifier_state(examples=len(examples))
        log.info("classifier trained", extra={k: v for k, v in state.items() if k != "categories"})
        return state

    async def learn_places_if_new(self) -> None:
        """Learn the places people set again when one was added (cheap: no model is trained), so
        that the next call from that address is placed by it."""
        async with self._lock:
            places = await self.place_examples()
            if len(places) != self.places_seen:
                self.engine = await asyncio.to_thread(self.engine.learn_places, places)
                self.places_seen = len(places)

    async def train_if_due(self) -> None:
        """Train again once enough new labelled examples came in since the last training.

        Called after a correction was stored: a failure here is logged, never the correction's answer.
        """
        learning = self.engine.package.rules.learning
        try:
            count = len(await self.examples())
            if count >= learning.min_examples and count - self.trained_on >= learning.retrain_every:
                await self.train()
            else:
                await self.learn_places_if_new()
        except Exception:
            log.warning("training after a correction failed; the next one tries again", exc_info=True)

    async def classifier_state(self, examples: int | None = None) -> dict[str, Any]:
        """Examples, the minimum, and what the model knows."""
        learned = self.engine.learned
        learning = self.engine.package.rules.learning
        return {
            "examples": examples if examples is not None else len(await self.examples()),
            "min_examples": learning.min_examples,
            "min_probability": learning.min_probability,
            "trained": learned is not None,
            "trained_at": self.trained_at,
            "trained_on": learned.examples if learned else 0,
            "categories": learned.categories if learned else [],
        }


class PackageMismatch(Exception):
    """The package on disk is not the one the activation named."""

    def __init__(self, found: str, expected: str) -> None:
        super().__init__(f"the package on disk is version {found}, the replay tried version {expected}")
        self.found, self.expected = found, expected


def load_engine(county_dir: Path, deadline_policy_file: Path) -> RoutingEngine:
    """The county package's engine, refused (CountyPackageError) when its return limit disagrees
    with the objection limit of the deadline table supervision counts (dispatch_common/objection.py)."""
    engine = RoutingEngine.from_dir(county_dir)
    problems = return_limit_problems(engine.package.rules.return_working_days, deadline_policy_file)
    if problems:
        raise CountyPackageError(problems)
    return engine
