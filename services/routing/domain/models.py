"""Value objects of routing: what comes in, what is decided, and the shape of the rules file.

Nothing here names a place, a unit or a category: those are data in the county package.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispatch_common.county import ConfidentialRules

FLAG_NAMES: tuple[str, ...] = (
    "mediation",
    "legal_redirect",
    "police",
    "legal_aid",
    "psych",
    "group",
    "out_of_scope",
)
"""Every flag routing may raise, in the order they are reported."""

JurisdictionSource = Literal["coordinates", "gazetteer", "area_name", "learned", "person", "none"]
Queue = Literal["auto", "manual"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RouteRequest(_Frozen):
    """One case as routing sees it."""

    channel: str
    text: str
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    people_count: int | None = Field(None, ge=0)
    repeat: bool = False  # intake linked it to an earlier similar case of the same petitioner (重复件)
    earlier_cases: int = Field(0, ge=0)  # the petitioner's earlier cases within intake's repeat window
    confidential: bool = False  # a report against officials (检举控告): routed by its own rule, not by place
    category_hint: str | None = None  # the category the submitter chose (an Open311 service_code)


class Jurisdiction(_Frozen):
    """Where a case lies. ``matched`` is the name or point that placed it (for the explanation)."""

    town: str | None = None
    village: str | None = None
    grid: str | None = None
    source: JurisdictionSource = "none"
    matched: str | None = None

    @property
    def most_specific(self) -> str | None:
        return self.grid or self.village or self.town


NO_JURISDICTION = Jurisdiction()


class CategoryChoice(_Frozen):
    """The content category chosen for a case, and why."""

    code: str | None = None
    subcode: str | None = None
    confidence: float = Field(0.0, ge=0.0, le=1.0)
    evidence: list[str] = Field(default_factory=list)


class UnitRef(_Frozen):
    """A unit named in a decision; ``role`` is "lead", "assist", the flag that brought it, or
    "tier:<tier>" for the level a key or major matter goes up to (三级代办)."""

    code: str
    name: str
    type: str
    role: str


class RouteDecision(_Frozen):
    """The outcome of routing one case. ``model_dump(mode="json")`` gives plain JSON."""

    jurisdiction: Jurisdiction
    category: CategoryChoice
    flags: list[str] = Field(default_factory=list)
    lead_unit: UnitRef | None = None
    assisting_units: list[UnitRef] = Field(default_factory=list)
    tier: str
    queue: Queue
    explanation: list[str] = Field(default_factory=list)
    manual_reason: str | None = None
    confidential: bool = False  # decided by the confidential rule: seen only by its units and named roles


# ---------------------------------------------------------------------------------------------
# routing_rules.json


class FlagRule(_Frozen):
    """How one flag is detected.

    - ``categories``: taxonomy codes (first or second level) that raise the flag by themselves.
    - ``exclude_categories``: codes for which the flag is never raised.
    - ``phrases``: phrases that raise it; ``a…b`` means *a*, then *b* within a few characters.
    - ``masks``: phrases whose span hides any flag phrase inside it (e.g. a hazard that is not a fire).
    - ``negators``: words that cancel a phrase when they come right before it (没有, 未 ...).
    - ``negations``: phrases that cancel the flag for the whole text (无违法行为 ...).
    - ``min_people``: raise the flag when people_count reaches this number.
    - ``min_earlier_cases``: raise it when the petitioner has come this many times before, within
      intake's repeat window (a long-running repeat petitioner).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str | None = None
    categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    masks: list[str] = Field(default_factory=list)
    negators: list[str] = Field(default_factory=list)
    negations: list[str] = Field(default_factory=list)
    min_people: int | None = Field(None, ge=1)
    min_earlier_cases: int | None = Field(None, ge=1)


class TierRule(_Frozen):
    """One tier rule; the first rule (in file order) any of whose conditions holds gives the tier.

    Conditions: ``min_people``; ``repeat`` (a repeat petition, 重复件); ``min_earlier_cases`` (the
    petitioner came this many times before: a long-standing matter, 积案); ``flags``; ``categories``;
    ``phrases``.
    """

    tier: str
    description: str | None = None
    min_people: int | None = Field(None, ge=1)
    repeat: bool = False
    min_earlier_cases: int | None = Field(None, ge=1)
    flags: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    negators: list[str] = Field(default_factory=list)  # words that cancel a phrase right before it


class LearningRules(_Frozen):
    """When the classifier learned from corrections is trained and listened to."""

    min_examples: int = Field(30, ge=2)
    min_probability: float = Field(0.6, ge=0.0, le=1.0)
    retrain_every: int = Field(20, ge=1)


class CategoryHintRule(_Frozen):
    """How much the category a submitter chose (an Open311 service_code) counts: it decides only where
    the text's own evidence is below the manual threshold, with this confidence."""

    description: str | None = None
    confidence: float = Field(0.5, ge=0.0, le=1.0)


class PlaceRules(_Frozen):
    """How tolerantly place names are read (docs/routing.md, step 1).

    - ``min_confidence``: a reading less sure than this places nothing.
    - ``ambiguity_margin``: readings this close to the best one that point to places in different
      towns (or villages, when no town is shared) are a real ambiguity, for a dispatcher.
    - ``edit_chars``: how much of a text is searched for names with one character wrong.
    - ``home_markers``: words that mark the address as the caller's home (家住 ...): a place the text
      names is then where the matter is.
    """

    description: str | None = None
    min_confidence: float = Field(0.6, ge=0.0, le=1.0)
    ambiguity_margin: float = Field(0.1, ge=0.0, le=1.0)
    edit_chars: int = Field(300, ge=0, le=5000)
    home_markers: list[str] = Field(default_factory=list)


class RoutingRules(_Frozen):
    """The parsed routing_rules.json of a county package."""

    description: str | None = None
    manual_confidence_threshold: float = Field(0.35, ge=0.0, le=1.0)
    negation_gap: int = Field(1, ge=0, le=10)
    flags: dict[str, FlagRule] = Field(default_factory=dict)
    flag_unit_types: dict[str, list[str]] = Field(default_factory=dict)
    fallback_lead_types: list[str] = Field(default_factory=list)
    default_tier: str = "general"
    tiers: list[TierRule] = Field(default_factory=list)
    tier_unit_types: dict[str, list[str]] = Field(default_factory=dict)
    return_working_days: int = Field(5, ge=1, le=30)
    learning: LearningRules = Field(default_factory=LearningRules)
    category_hint: CategoryHintRule = Field(default_factory=CategoryHintRule)
    places: PlaceRules = Field(default_factory=PlaceRules)
    confidential: ConfidentialRules

    @field_validator("flags", "flag_unit_types")
    @classmethod
    def _known_flags(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(FLAG_NAMES))
        if unknown:
            raise ValueError(f"unknown flag names {unknown}; known: {list(FLAG_NAMES)}")
        return value

    def flag(self, name: str) -> FlagRule:
        return self.flags.get(name) or FlagRule()


class Lexicon(_Frozen):
    """The parsed lexicon.json: phrase weights per taxonomy code, for the explainable classifier.

    ``phrases`` maps a first- or second-level code to ``{phrase: weight}``. ``ignore`` lists phrases
    whose text is hidden before matching (channel boilerplate, negated statements).
    """

    description: str | None = None
    strength_k: float = Field(1.0, gt=0.0)
    taxonomy_name_weight: float = Field(0.5, ge=0.0)
    taxonomy_name_separators: list[str] = Field(default_factory=lambda: ["与", "和", "及", "等", "、"])
    gap: int = Field(8, ge=1, le=30)
    ignore: list[str] = Field(default_factory=list)
    phrases: dict[str, dict[str, float]] = Field(default_factory=dict)
