"""Intake's container: everything its handlers and entrypoints need, built once per
process by bootstrap.py (which imports the entrypoints; they import this, never bootstrap)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.clock import Clock
from dispatch_common.confidential import Confidentiality
from dispatch_common.crypto import PiiKeys
from dispatch_common.jobs import Jobs
from dispatch_common.ratelimit import RateLimiter
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.systems import ExternalSystem
from services.intake.adapters.history import CaseHistory, find_links
from services.intake.adapters.identities import IdentityLinks
from services.intake.adapters.pool import DataPool
from services.intake.adapters.profile import ProfileReader
from services.intake.adapters.repository import CaseRepository
from services.intake.domain.boundary import CountyBoundary
from services.intake.domain.duplicates import CaseSnapshot, DuplicatePolicy, Links
from services.intake.domain.open311_clients import Open311Clients
from services.intake.domain.open311_services import Catalogue
from services.intake.domain.profile_policy import ProfilePolicy
from services.intake.domain.profile_sections import ShownCases
from services.intake.domain.screening import Screener, ScreeningRules, read_texts


class RulesMismatch(Exception):
    """The rules on disk are not the ones an activation named (by content)."""

    def __init__(self, found: str, expected: str) -> None:
        super().__init__(f"the rules on disk have digest {found}, the replay tried {expected}")
        self.found, self.expected = found, expected


@dataclass
class ScreeningHolder:
    """The screening rules in force, and the text of their files (a replay's candidate takes the files
    it does not send from here); reload swaps them whole, and a bad file leaves the old ones in force."""

    rules_file: Path
    kb_file: Path
    current: Screener = field(init=False)
    texts: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.current, self.texts = self._read()

    def _read(self) -> tuple[Screener, dict[str, str]]:
        texts, names = read_texts(self.rules_file, self.kb_file)
        return Screener(ScreeningRules.from_texts(texts, names)), texts

    def reload(self, expect_digest: str | None = None) -> str:
        """Read the rules again (raises ScreeningRulesError, keeping the old ones; RulesMismatch when
        they are not `expect_digest`, the rules a replay tried); returns the version."""
        screener, texts = self._read()
        if expect_digest is not None and screener.rules.digest != expect_digest:
            raise RulesMismatch(screener.rules.digest, expect_digest)
        self.current, self.texts = screener, texts
        return self.current.rules.version


@dataclass(frozen=True)
class Open311Door:
    """What the Open311 door needs: its clients, its service catalogue, the county's area names."""

    clients: Open311Clients
    catalogue: Catalogue
    areas: dict[str, str]

    @property
    def feeds(self) -> frozenset[str]:
        """The clients whose outcome feed is published (for notify to deliver to their webhooks)."""
        return self.clients.feeds


ProfileSection = Callable[[tuple[str, ...], ShownCases], Awaitable[list[dict[str, Any]]]]
"""A part of the platform's contribution to a profile: from the petitioner's keys and the cases the
caller is shown (with their records), its items (proxy agents, risk-ledger entries); registered by
name in `Profiles.sections` (bootstrap.py)."""


@dataclass
class Profiles:
    """The petitioner profile's parts: the later facts of cases, the data pool, the policy, and the
    sections other parts of the platform add."""

    reader: ProfileReader
    pool: DataPool
    policy: ProfilePolicy
    sections: dict[str, ProfileSection] = field(default_factory=dict)


@dataclass
class Intake:
    """Everything intake's handlers need, built once per process."""

    runtime: Runtime
    cases: CaseRepository
    history: CaseHistory
    identities: IdentityLinks
    duplicates: DuplicatePolicy
    screening: ScreeningHolder
    boundary: CountyBoundary
    clock: Clock
    keys: PiiKeys
    county: str
    open311: Open311Door
    timezone: ZoneInfo
    confidentiality: Confidentiality
    limiter: RateLimiter
    systems: tuple[ExternalSystem, ...] = ()
    reloads: Reloads | None = None
    profiles: Profiles | None = None
    replays: Jobs | None = None  # what-if replays of the screening rules (screening_replay.py)
    approvals: AsyncCollection | None = None  # screening rules activated on a replay's report

    async def reload_rules(self, expect_digest: str | None = None) -> dict[str, str]:
        """Read the screening rules again (raises ScreeningRulesError, keeping the old ones, and
        RulesMismatch when they are not `expect_digest`); their version and digest."""
        version = self.screening.reload(expect_digest)
        return {"version": version, "digest": self.screening.current.rules.digest}

    async def find_links(self, snapshot: CaseSnapshot) -> Links:
        """Repeats of the same petitioner and incidents at the same place."""
        return await find_links(self.history, snapshot, self.duplicates)
