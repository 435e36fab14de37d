"""The shapes of what-if replay in OpenAPI: the request, the job, its differences, an approval."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispatch_common.replay_schemas import Period, ReplayActivation, ReplayJob, ReplayPeriod, known_files
from services.routing.domain.county import PACKAGE_FILES

MAX_FILE_CHARS = 20_000_000


class CandidatePackage(BaseModel):
    """A candidate county package: the text of each file that changes (the others are the package in
    use's, byte for byte; the version is the content hash of all six)."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(
        default_factory=dict,
        description=f"file name ({', '.join(PACKAGE_FILES)}) → its whole text",
    )

    @field_validator("files")
    @classmethod
    def _known_files(cls, value: dict[str, str]) -> dict[str, str]:
        return known_files(value, PACKAGE_FILES, max_chars=MAX_FILE_CHARS, what="package")


class ReplayStart(ReplayPeriod):
    """Replay the routes decided in [`from`, `to`) with a candidate package."""

    package: CandidatePackage = Field(default_factory=CandidatePackage)


class UnitLoadRow(BaseModel):
    """The cases a unit leads (dispatched at once) with the package in use and with the candidate."""

    unit: str
    before: int
    after: int
    moved_in: int
    moved_out: int


class ReplayResult(BaseModel):
    cases: int = Field(description="routes replayed")
    changed: int = Field(description="routes the candidate decides otherwise")
    drifted: int = Field(
        description="stored decisions the package in use would now decide otherwise (a correction, "
        "an earlier package or what routing learned since)"
    )
    changed_parts: dict[str, int] = Field(description="part → routes where it changes")
    units: list[UnitLoadRow]


class Replay(ReplayJob):
    """A replay job: its progress while it runs, its totals when done."""

    candidate_version: str
    baseline_version: str = Field(description="the package in use the candidate is compared with")
    result: ReplayResult | None


class ReplaySide(BaseModel):
    """One side of a difference: the decision's parts and its explanation."""

    town: str | None
    village: str | None
    lead_unit: str | None
    assisting_units: list[str]
    category: str | None
    subcategory: str | None
    tier: str | None
    flags: list[str]
    queue: str | None
    manual_reason: str | None
    explanation: list[str] = Field(description="empty for a confidential report")


class ReplayDifference(BaseModel):
    """A route the candidate decides otherwise, both decisions side by side."""

    case_id: str
    case_no: str
    decided_at: datetime
    confidential: bool
    changed: list[str] = Field(description="the parts that change")
    before: ReplaySide = Field(description="the package in use")
    after: ReplaySide = Field(description="the candidate")


class Activation(ReplayActivation):
    """Reload naming the replay whose report approves the package on disk."""


class Approval(BaseModel):
    """The replay report a package in use was activated on."""

    package_version: str
    replaced_version: str
    replay_id: str
    period: Period
    report: dict[str, Any] = Field(description="the replay's totals (ReplayResult without units)")
    units: list[UnitLoadRow]
    approved_by: str
    approved_at: datetime
