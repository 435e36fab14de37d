"""What the profile and data-pool operations answer and take."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch_common.paging import PageHead
from services.intake.domain.pool import MAX_ROWS
from services.intake.entrypoints.schemas import PetitionerView


class Named(BaseModel):
    """A unit or organization: code and name."""

    code: str
    name: str


class Counted(BaseModel):
    """One value of a dimension and how many of the petitioner's cases have it."""

    key: str
    count: int


class MediationLine(BaseModel):
    """A mediation of a case: by which organization, and its result once concluded."""

    mediation_id: str
    organization: Named | None = None
    result: str | None = None


class ReferralLine(BaseModel):
    """A referral of a case (legal aid, counselling, arbitration, court)."""

    kind: str | None
    receiving_unit: Named | None


class CaseLine(BaseModel):
    """One of the petitioner's cases, with what became of it."""

    case_id: str
    case_no: str
    received_at: datetime
    channel: str | None
    status: str | None
    screening: str | None
    people_count: int | None
    group: bool = Field(description="a group petition: at least the policy's `group_size` people")
    repeat_of: str | None = Field(description="the case number this one repeats")
    lead_unit: Named | None
    town: str | None
    category: str | None = Field(description="the category (subcode) routing gave")
    reply: str | None = Field(description="the lead unit's reply result")
    rating: str | None = Field(description="the petitioner's rating at follow-up")
    closed_at: datetime | None
    mediations: list[MediationLine]
    referrals: list[ReferralLine]


class Patterns(BaseModel):
    """Repeat and group patterns over the petitioner's cases."""

    by_category: list[Counted]
    by_unit: list[Counted]
    by_year: list[Counted]
    by_channel: list[Counted]
    repeats: int
    group_petitions: int
    dissatisfied: int


class ProfileSummary(BaseModel):
    """How many cases; the confidential ones the caller may not read are counted, not shown."""

    cases: int
    shown: int
    withheld_confidential: int
    open: int
    first_at: datetime | None
    last_at: datetime | None


class FactLine(BaseModel):
    """A fact from another system, with its source and what it may be used for."""

    kind: str
    kind_name: str | None
    ref: str
    date: str
    authority: str | None
    group: str | None
    summary: str | None
    until: str | None
    batch_id: str
    source: str
    source_version: int
    source_date: str
    use: str = Field(description="what the fact may be used for (the batch's note)")


class AgentLine(BaseModel):
    """A proxy agent (代办员) who carries or carried one of the petitioner's cases."""

    case_id: str
    case_no: str | None
    agent_id: str
    name: str
    tier: Literal["village", "town", "county"]
    since: datetime = Field(description="when the agent took the case up")
    until: datetime | None = Field(description="when the next agent took it over (none: still carries it)")
    how: Literal["intake", "dispatcher", "petitioner_request", "escalation"] = Field(
        description="filed by the agent, given by a dispatcher, at the petitioner's request, or a tier up"
    )
    current: bool


class RiskEntryLine(BaseModel):
    """A risk-ledger entry (排查台账) linked to one or more of the petitioner's cases, or naming the
    petitioner among its parties (by keyed hash); never its parties."""

    entry_id: str
    entry_no: str
    kind: str = Field(description="a key of data/policy/ledger.json `kinds`")
    level: str = Field(description="the risk level, a key of data/policy/ledger.json `levels`")
    status: Literal["opened", "in_progress", "close_requested", "closed"]
    town: str | None
    owner_unit: Named | None
    opened_at: datetime
    closed_at: datetime | None
    closed_on_time: bool | None
    case_ids: list[str] = Field(description="the petitioner's cases the entry is linked to")
    joined_by: list[Literal["case", "party"]] = Field(
        description="why it is on the profile: `case`, linked to one of the cases shown; `party`, one of "
        "its parties has the petitioner's phone or ID number (decision 0046); or both"
    )


class Sections(BaseModel):
    """What other parts of the platform add to the profile, from their events."""

    agents: list[AgentLine] = Field(description="the proxy agents of the cases, newest first")
    risk_entries: list[RiskEntryLine] = Field(
        description="the ledger entries linked to the cases or naming the petitioner as a party, newest first"
    )


class Profile(BaseModel):
    """The petitioner profile (信访人画像) of a case's petitioner."""

    case_id: str = Field(description="the case the profile was opened from")
    petitioner: PetitionerView
    summary: ProfileSummary
    cases: list[CaseLine]
    patterns: Patterns
    facts: list[FactLine]
    sections: Sections


class BatchImport(BaseModel):
    """An import: whose facts, of which kind, as of when, for what use; rows as JSON or a CSV text."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, max_length=80, description="the supplying system, e.g. the county court"
    )
    kind: str = Field(min_length=1, max_length=40, description="a kind the profile policy names")
    source_date: date = Field(description="when the source produced the data")
    use_note: str = Field(
        min_length=4, max_length=500, description="licence-like: what the facts may be used for"
    )
    retain_until: date | None = Field(None, description="when the batch is to be withdrawn at the latest")
    rows: list[dict[str, Any]] | None = Field(None, max_length=MAX_ROWS)
    csv: str | None = Field(None, max_length=8_000_000, description="a CSV text with a header line")

    @model_validator(mode="after")
    def _one_form(self) -> "BatchImport":
        if (self.rows is None) == (self.csv is None):
            raise ValueError("give the rows either as `rows` (JSON) or as `csv`, one of them")
        return self


class Withdrawal(BaseModel):
    """Why a batch is withdrawn (its facts leave every profile; the batch record stays)."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=2, max_length=500)


class WithdrawalView(BaseModel):
    """Who withdrew a batch, when and why."""

    subject: str
    role: str
    at: datetime
    reason: str


class Batch(BaseModel):
    """An import as kept: its source, version, use note, how many facts, and its state."""

    batch_id: str
    source: str
    version: int
    kind: str
    source_date: str
    use_note: str
    retain_until: str | None
    facts: int
    status: Literal["importing", "active", "withdrawn"]
    revision: int = Field(description='the batch\'s version: its ETag is `"<revision>"`, for If-Match')
    imported_by: str
    imported_at: datetime
    withdrawal: WithdrawalView | None = None


class Batches(PageHead):
    """A page of imports, newest first."""

    items: list[Batch]
