"""The shapes of what-if replay in OpenAPI: the request, the job, its differences, an approval."""

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.routing.domain.county import PACKAGE_FILES

MAX_FILE_CHARS = 20_000_000
MAX_PERIOD_DAYS = 400


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
        unknown = sorted(set(value) - set(PACKAGE_FILES))
        if unknown:
            raise ValueError(f"not a package file: {', '.join(unknown)}; expected {', '.join(PACKAGE_FILES)}")
        big = sorted(name for name, text in value.items() if len(text) > MAX_FILE_CHARS)
        if big:
            raise ValueError(f"longer than {MAX_FILE_CHARS} characters: {', '.join(big)}")
        return value


class ReplayStart(BaseModel):
    """Replay the routes decided in [`from`, `to`) with a candidate package."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: AwareDatetime = Field(alias="from", description="the period's first instant (inclusive)")
    end: AwareDatetime = Field(alias="to", description="the period's end (exclusive)")
    package: CandidatePackage = Field(default_factory=CandidatePackage)

    @model_validator(mode="after")
    def _period(self) -> "ReplayStart":
        if self.end <= self.start:
            raise ValueError("`to` must be after `from`")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValueError(f"a period of at most {MAX_PERIOD_DAYS} days")
        return self


class Period(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class Progress(BaseModel):
    done: int
    total: int | None = Field(description="routes in the period; null until the replay has read them all")
    estimated_total: int | None = Field(
        None,
        description="while running: the routes in the period as guessed from how far into it the "
        "replay is (null before the first step)",
    )


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


class Replay(BaseModel):
    """A replay job: its progress while it runs, its totals when done."""

    id: str
    status: str = Field(description="`running`, `done`, `failed` or `cancelled`")
    period: Period
    candidate_version: str
    baseline_version: str = Field(description="the package in use the candidate is compared with")
    requested_by: str
    progress: Progress
    differences: int = Field(description="differences stored so far (GET …/differences)")
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    elapsed_seconds: float
    cases_per_second: float | None
    result: ReplayResult | None
    error: str | None


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


class Activation(BaseModel):
    """Reload naming the replay whose report approves the package on disk."""

    model_config = ConfigDict(extra="forbid")

    replay_id: str = Field(min_length=1, max_length=64)


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
