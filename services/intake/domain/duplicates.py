"""Duplicates and repeats (并单, 重复件): the policy, place keys, and the decision given candidates (pure).

- A *repeat* (重复件): the same petitioner (same keyed hash of ID number or phone; never plain text)
  with a similar request within `repeat_window_days` before this one. The new case is linked to the
  most similar earlier case (ties: the most recent). Anonymous cases never form a repeat.
- An *incident* (并单): other people (a different hash, or anonymous on either side) reporting a
  similar thing at the same place (the grid cell of the point or one of its 8 neighbours, or the same
  normalized address) within `incident_window_hours` either side. The new case joins the incident of
  the most similar such case. An incident id is the case_id of the incident's first case, so every
  recorded case carries one (its own when it joined none). Units handle an incident once; every
  petitioner in it is still answered.
- An incident is compared by its *representatives*: its first `incident_representatives` reports. A
  report that joins an incident which has that many already is linked like any other, but later
  reports are not compared with it. So a mass incident of hundreds of calls at one place costs a new
  report the same lookup as a small one: a few representatives per incident, never every call
  (docs/decisions/0016). A report that joins no incident starts one and represents it.

The adapter (services/intake/adapters/history.py) finds the bounded candidate lists by index;
`decide_links` only compares texts among them, and never more than `max_candidates` of each.
"""

import json
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dispatch_common.paths import DATA_DIR
from dispatch_common.similarity import Fingerprint, fingerprint, similarity

DEFAULT_POLICY_PATH = DATA_DIR / "intake" / "duplicates.json"


@dataclass(frozen=True, slots=True)
class DuplicatePolicy:
    """Windows, thresholds and sizes, from data/intake/duplicates.json."""

    repeat_window_days: float = 90
    repeat_similarity: float = 0.35
    incident_window_hours: float = 48
    incident_similarity: float = 0.4
    max_candidates: int = 200
    incident_representatives: int = 3
    cell_deg: float = 0.002
    version: int = 1

    def __post_init__(self) -> None:
        problems = []
        if self.repeat_window_days <= 0:
            problems.append("repeat_window_days must be > 0")
        if self.incident_window_hours <= 0:
            problems.append("incident_window_hours must be > 0")
        for name in ("repeat_similarity", "incident_similarity"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be in [0, 1]")
        if self.max_candidates < 1:
            problems.append("max_candidates must be >= 1")
        if self.incident_representatives < 1:
            problems.append("incident_representatives must be >= 1")
        if not 0 < self.cell_deg <= 1:
            problems.append("cell_deg must be in (0, 1]")
        if problems:
            raise ValueError("duplicate policy: " + "; ".join(problems))

    @property
    def repeat_window(self) -> timedelta:
        return timedelta(days=self.repeat_window_days)

    @property
    def incident_window(self) -> timedelta:
        return timedelta(hours=self.incident_window_hours)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_POLICY_PATH) -> "DuplicatePolicy":
        """Read the policy file; unknown keys other than `description` are an error."""
        raw: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        raw.pop("description", None)
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"duplicate policy {path}: unknown keys {sorted(unknown)}")
        return cls(**raw)


# -- place keys -------------------------------------------------------------------------------------


def place_cell(lon: float, lat: float, cell_deg: float) -> str:
    """The grid cell of a point: `<cell size in µdeg>:<floor(lon/cell)>:<floor(lat/cell)>`.

    The size is part of the key, so cells of a different policy never compare equal.
    """
    size = round(cell_deg * 1_000_000)
    return f"{size}:{math.floor(lon / cell_deg)}:{math.floor(lat / cell_deg)}"


def _cell_parts(cell: str) -> tuple[int, int, int]:
    size, ix, iy = (int(part) for part in cell.split(":"))
    return size, ix, iy


def neighbour_cells(cell: str) -> list[str]:
    """The cell itself first, then its 8 neighbours."""
    size, ix, iy = _cell_parts(cell)
    around = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    return [cell, *(f"{size}:{ix + dx}:{iy + dy}" for dx, dy in around)]


BLOCK_CELLS = 4  # a block is 4 x 4 cells
BLOCK_OFFSETS = (0, 2)  # two lattices of blocks per axis, shifted by half a block


def _block_key(size: int, ix: int, iy: int, ox: int, oy: int) -> tuple[str, str]:
    field = f"place_block_{ox}{oy}"
    return field, f"{size}:{ox}{oy}:{(ix - ox) // BLOCK_CELLS}:{(iy - oy) // BLOCK_CELLS}"


def place_blocks(cell: str) -> dict[str, str]:
    """The blocks of 4 x 4 cells a cell lies in, one per lattice: `{place_block_<ox><oy>: key}`.

    Along each axis one lattice starts at cell 0 and the other at cell 2, so any 3 cells in a row lie
    within one block of one of them, and a cell's 3 x 3 neighbourhood within one block of one of the four
    lattices (`neighbourhood_block`). Storing the four keys lets one equality lookup find a
    neighbourhood, instead of one per cell or block (the embedded server scans for `$in`).
    """
    size, ix, iy = _cell_parts(cell)
    return dict(_block_key(size, ix, iy, ox, oy) for ox in BLOCK_OFFSETS for oy in BLOCK_OFFSETS)


def neighbourhood_block(cell: str) -> tuple[str, str]:
    """The one stored block `(field, key)` that holds the cell's 3 x 3 neighbourhood."""
    size, ix, iy = _cell_parts(cell)
    half = BLOCK_CELLS // 2
    ox = BLOCK_OFFSETS[0] if (ix - 1) % BLOCK_CELLS < half else BLOCK_OFFSETS[1]
    oy = BLOCK_OFFSETS[0] if (iy - 1) % BLOCK_CELLS < half else BLOCK_OFFSETS[1]
    return _block_key(size, ix - 1, iy - 1, ox, oy)


def place_cells(lon: float, lat: float, cell_deg: float) -> list[str]:
    """The cell of the point and its 8 neighbours (the point's own cell first)."""
    return neighbour_cells(place_cell(lon, lat, cell_deg))


def address_key(address: str | None) -> str | None:
    """An address as a comparable key: NFKC, lower case, no spaces or punctuation; None when empty."""
    if not address:
        return None
    folded = unicodedata.normalize("NFKC", address).lower()
    key = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")
    return key or None


# -- snapshots and links ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """What duplicate detection knows of a case: a new one, or a stored candidate (with incident_id)."""

    case_id: str
    case_no: str
    received_at: datetime
    text: str
    petitioner_hash: str | None = None
    place_cell: str | None = None
    address_key: str | None = None
    incident_id: str | None = None
    fingerprint: Fingerprint = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    # every key the petitioner's earlier cases may be recorded under (domain/identities.py): the
    # recorded one, and the phone linked to an ID number; () gives just `petitioner_hash`
    petitioner_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        if not self.petitioner_keys and self.petitioner_hash is not None:
            object.__setattr__(self, "petitioner_keys", (self.petitioner_hash,))
        if self.fingerprint is None:
            object.__setattr__(self, "fingerprint", fingerprint(self.text))

    def same_petitioner(self, other: "CaseSnapshot") -> bool:
        """Whether another case is this petitioner's (by any key this one is known by)."""
        return other.petitioner_hash is not None and other.petitioner_hash in self.petitioner_keys

    @property
    def incident(self) -> str:
        """The incident this case belongs to: its stored incident id, or its own id (it started one)."""
        return self.incident_id or self.case_id

    @classmethod
    def build(
        cls,
        *,
        case_id: str,
        case_no: str,
        received_at: datetime,
        text: str,
        policy: DuplicatePolicy,
        petitioner_hash: str | None = None,
        lon: float | None = None,
        lat: float | None = None,
        address: str | None = None,
    ) -> "CaseSnapshot":
        """A new case's snapshot from registration facts (the place keys computed here)."""
        cell = place_cell(lon, lat, policy.cell_deg) if lon is not None and lat is not None else None
        return cls(
            case_id=case_id,
            case_no=case_no,
            received_at=received_at,
            text=text,
            petitioner_hash=petitioner_hash or None,
            place_cell=cell,
            address_key=address_key(address),
        )


@dataclass(frozen=True, slots=True)
class RepeatLink:
    """The earlier case of the same petitioner this one repeats."""

    case_id: str
    case_no: str
    similarity: float

    def to_document(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "case_no": self.case_no, "similarity": self.similarity}


@dataclass(frozen=True, slots=True)
class IncidentLink:
    """The incident this case joins, with the matching cases of other petitioners in it."""

    incident_id: str
    case_ids: tuple[str, ...]
    case_nos: tuple[str, ...]
    similarity: float

    def to_document(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "case_ids": list(self.case_ids),
            "case_nos": list(self.case_nos),
            "similarity": self.similarity,
        }


@dataclass(frozen=True, slots=True)
class Links:
    """The decision: a repeat, an incident, both or neither, with human-readable evidence."""

    repeat_of: RepeatLink | None = None
    incident_of: IncidentLink | None = None
    evidence: tuple[str, ...] = ()
    earlier_cases: int = 0  # the petitioner's earlier cases within the repeat window, similar or not
    represents_incident: bool = True  # compared with later reports (kept in the history, not on the case)

    def to_document(self) -> dict[str, Any]:
        return {
            "repeat_of": self.repeat_of.to_document() if self.repeat_of else None,
            "incident_of": self.incident_of.to_document() if self.incident_of else None,
            "evidence": list(self.evidence),
            "earlier_cases": self.earlier_cases,
        }


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _bounded(candidates: list[CaseSnapshot], new: CaseSnapshot, limit: int) -> list[CaseSnapshot]:
    """Distinct candidates other than the new case itself, most recent first, at most `limit`."""
    seen: dict[str, CaseSnapshot] = {}
    for c in candidates:
        if c.case_id != new.case_id and c.case_id not in seen:
            seen[c.case_id] = c
    return sorted(seen.values(), key=lambda c: c.received_at, reverse=True)[:limit]


def _earlier_of_petitioner(
    new: CaseSnapshot, candidates: list[CaseSnapshot], policy: DuplicatePolicy
) -> list[CaseSnapshot]:
    """The same petitioner's cases received within the repeat window before the new one."""
    if new.petitioner_hash is None:
        return []
    return [
        c
        for c in candidates
        if new.same_petitioner(c) and timedelta(0) <= new.received_at - c.received_at <= policy.repeat_window
    ]


def _decide_repeat(
    new: CaseSnapshot, in_window: list[CaseSnapshot], policy: DuplicatePolicy, evidence: list[str]
) -> RepeatLink | None:
    if not in_window:
        return None
    scored = [(similarity(new.fingerprint, c.fingerprint), c) for c in in_window]
    score, best = max(scored, key=lambda sc: (sc[0], sc[1].received_at))
    if score < policy.repeat_similarity:
        evidence.append(
            f"not a repeat: {len(in_window)} earlier case(s) of the same petitioner within "
            f"{policy.repeat_window_days:g} days, best similarity {score:.2f} "
            f"< {policy.repeat_similarity:.2f} ({best.case_no})"
        )
        return None
    evidence.append(
        f"repeat of {best.case_no}: same petitioner, {_ago(new.received_at - best.received_at)} earlier, "
        f"similarity {score:.2f} >= {policy.repeat_similarity:.2f}"
    )
    return RepeatLink(case_id=best.case_id, case_no=best.case_no, similarity=round(score, 4))


def _same_place(new: CaseSnapshot, c: CaseSnapshot, cells: set[str]) -> str | None:
    if c.place_cell is not None and c.place_cell in cells:
        return "same cell" if c.place_cell == new.place_cell else "neighbouring cell"
    if new.address_key is not None and c.address_key == new.address_key:
        return "same address"
    return None


def _decide_incident(
    new: CaseSnapshot, candidates: list[CaseSnapshot], policy: DuplicatePolicy, evidence: list[str]
) -> IncidentLink | None:
    cells = set(neighbour_cells(new.place_cell)) if new.place_cell else set()
    matches: list[tuple[float, CaseSnapshot, str]] = []
    for c in candidates:
        if new.same_petitioner(c):
            continue  # one's own earlier case is a repeat, not another report of an incident
        if abs(new.received_at - c.received_at) > policy.incident_window:
            continue
        where = _same_place(new, c, cells)
        if where is None:
            continue
        score = similarity(new.fingerprint, c.fingerprint)
        if score >= policy.incident_similarity:
            matches.append((score, c, where))
    if not matches:
        return None
    score, best, where = max(matches, key=lambda m: (m[0], m[1].received_at))
    incident_id = best.incident
    members = sorted(
        (m[1] for m in matches if m[1].incident == incident_id),
        key=lambda c: c.received_at,
    )
    evidence.append(
        f"joins incident {incident_id}: {len(members)} of its reports by other people at the same place "
        f"within {policy.incident_window_hours:g} h match; best {best.case_no} ({where}, "
        f"{_ago(abs(new.received_at - best.received_at))} apart), similarity {score:.2f} "
        f">= {policy.incident_similarity:.2f}"
    )
    return IncidentLink(
        incident_id=incident_id,
        case_ids=tuple(c.case_id for c in members),
        case_nos=tuple(c.case_no for c in members),
        similarity=round(score, 4),
    )


def _represents(
    incident: IncidentLink | None, candidates: list[CaseSnapshot], policy: DuplicatePolicy
) -> bool:
    """Whether the new case will represent its incident: it starts one, or the incident has fewer than
    `incident_representatives` among the candidates (which are representatives: the adapter finds no
    others)."""
    if incident is None:
        return True
    known = sum(1 for c in candidates if c.incident == incident.incident_id)
    return known < policy.incident_representatives


def decide_links(
    new: CaseSnapshot,
    repeat_candidates: list[CaseSnapshot],
    incident_candidates: list[CaseSnapshot],
    policy: DuplicatePolicy,
) -> Links:
    """Link a new case to an earlier case of the same petitioner and/or to an incident at its place."""
    evidence: list[str] = []
    earlier = _earlier_of_petitioner(new, _bounded(repeat_candidates, new, policy.max_candidates), policy)
    repeat = _decide_repeat(new, earlier, policy, evidence)
    bounded = _bounded(incident_candidates, new, policy.max_candidates)
    incident = _decide_incident(new, bounded, policy, evidence)
    return Links(
        repeat_of=repeat,
        incident_of=incident,
        evidence=tuple(evidence),
        earlier_cases=len(earlier),
        represents_incident=_represents(incident, bounded, policy),
    )
