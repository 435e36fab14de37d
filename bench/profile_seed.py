"""A million stored cases for the profile benchmark, in intake's stored shape, seeded straight into
intake's database (bench/profile_lookup.py).

The documents come from the service's own builders wherever one exists, so their shape follows the
service: the petitioner from `protect_petitioner` (encrypted, masked, keyed hashes), the identity
from `identities.resolve` (and its link document), the history document from `CaseHistory.document`,
the later facts from the consumer's own `records_of` over event data shaped as the events are. The
case document itself is built inline by `register_case`, so it is written here with the same fields.

The people: most petitioners bring one case, some 2-5, a tail of repeat petitioners 10-200 (about a
sixth of the cases), and the probed petitioners exactly 1, 10 and 100 cases, whose cases come first
so that every checkpoint sees them whole. One case in fifty is a group petition (5-60 people). Every
tenth case has a proxy agent, every twentieth a ledger entry linked to it; every fortieth entry names
a petitioner as a party without linking any of their cases (decision 0046).
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.duplicate_lookup import ROADS, TEMPLATES
from dispatch_common import subjects
from dispatch_common.crypto import PiiKeys
from dispatch_common.identity_keys import id_number_hash, ledger_keys_aad, person_keys, seal_keys
from dispatch_common.similarity import fingerprint
from services.intake.adapters.history import CaseHistory
from services.intake.adapters.profile import records_of
from services.intake.domain.duplicates import CaseSnapshot, DuplicatePolicy, Links, address_key, place_cell
from services.intake.domain.identities import Identity, resolve
from services.intake.domain.identity import with_check_digit
from services.intake.domain.models import Petitioner
from services.intake.domain.protection import protect_petitioner

CHANNELS = ("hotline_12345", "petition_visit", "petition_online", "petition_letter", "grid_report")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
PROBED = {1: 200, 10: 60, 100: 30}
"""Probed petitioners: this many with exactly this many cases."""
BOX = (107.5, 29.7, 108.1, 30.2)


@dataclass(frozen=True, slots=True)
class Person:
    petitioner: Petitioner
    identity: Identity


def case_counts(cases: int, rng: random.Random) -> list[int]:
    """Cases per petitioner: the probed first, then a tail of 10-200, some 2-5, the rest 1 each."""
    counts = [n for n, people in PROBED.items() for _ in range(people)]
    budget = cases - sum(counts)
    tail, few = budget // 6, budget // 6
    while tail > 0:
        n = min(tail, int(10 * 20 ** rng.random()))  # 10-200, most near the low end
        counts.append(n)
        tail -= n
    while few > 0:
        n = min(few, rng.randint(2, 5))
        counts.append(n)
        few -= n
    counts += [1] * max(0, cases - sum(counts))
    return counts


class Seed:
    """The synthetic county: people, and the documents of case i."""

    def __init__(self, cases: int, keys: PiiKeys, seed: int, now: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.keys, self.now, self.span = keys, now, days * 86400
        self.cell_deg = DuplicatePolicy.load().cell_deg
        counts = case_counts(cases, self.rng)
        self.people = [self._person(p) for p in range(len(counts))]
        probed = sum(n * people for n, people in PROBED.items())
        owners = [p for p, n in enumerate(counts) for _ in range(n)]
        rest = owners[probed:]
        self.rng.shuffle(rest)
        self.owner = owners[:probed] + rest
        self.probes = {n: [p for p, c in enumerate(counts[: sum(PROBED.values())]) if c == n] for n in PROBED}
        seen: set[int] = set()
        self.firsts = {i for i, p in enumerate(self.owner) if not (p in seen or seen.add(p))}
        texts = sorted(
            {
                self.rng.choice(TEMPLATES).format(
                    place=self.rng.choice(ROADS), n=self.rng.randrange(2, 10), h=self.rng.randrange(9, 12)
                )
                for _ in range(2000)
            }
        )
        self.fingerprints = [fingerprint(t) for t in texts]

    def _person(self, p: int) -> Person:
        phone = f"13{p % 10}{p:08d}"[-11:]
        id_number = (
            with_check_digit(f"5{p // 1000:05d}{1950 + p % 50}0101{p % 1000:03d}") if p % 3 == 0 else None
        )
        petitioner = Petitioner(name=f"测试{p}", phone=phone, id_number=id_number)
        # the hashes protect_petitioner stores (the same functions), without sealing anything here
        id_hash = id_number_hash(self.keys, id_number) if id_number else None
        phone_hash = person_keys(self.keys, {"phone": phone})[0]
        # a petitioner with an ID number always gives it with the phone: the phone is theirs alone
        owners = [id_hash] if id_hash else []
        return Person(petitioner, resolve(id_hash, phone_hash, owners))

    def party_key(self, p: int) -> str:
        """The keyed hash a ledger entry's party with this petitioner's phone, written differently, has."""
        phone = self.people[p].petitioner.phone or ""
        return person_keys(self.keys, {"phone": f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"})[0]

    def documents(self, i: int) -> dict[str, list[dict[str, Any]]]:
        """Case i's documents by collection."""
        rng, person = self.rng, self.people[self.owner[i]]
        case_id = f"c{i:07d}"
        received = self.now - timedelta(seconds=rng.uniform(0, self.span))
        stored, _ = protect_petitioner(self.keys, person.petitioner, case_id=case_id, confidential=False)
        fp = rng.choice(self.fingerprints)
        lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
        address = f"幸福路{rng.randrange(1, 300)}号"
        identity = person.identity
        snapshot = CaseSnapshot(
            case_id=case_id,
            case_no=f"990102-{received.year}-{i:07d}",
            received_at=received,
            text=fp.text,
            petitioner_hash=identity.person,
            place_cell=place_cell(lon, lat, self.cell_deg),
            address_key=address_key(address),
            fingerprint=fp,
            petitioner_keys=identity.keys,
        )
        links = Links()
        case = self._case(i, snapshot, stored, links, address, (lon, lat))
        docs = {
            "cases": [case],
            "case_history": [CaseHistory.document(snapshot, links, outcome="accepted")],
            "profile_outcomes": self._later(i, case),
        }
        if identity.link and i in self.firsts:  # the pair, with the first case
            docs["identity_links"] = [identity.link]
        return docs

    def _case(
        self,
        i: int,
        snapshot: CaseSnapshot,
        stored: dict[str, Any],
        links: Links,
        address: str,
        point: tuple[float, float],
    ) -> dict[str, Any]:
        """The case document with the fields `register_case` writes."""
        group = i % 50 == 0
        return {
            "_id": snapshot.case_id,
            "case_no": snapshot.case_no,
            "channel": CHANNELS[i % len(CHANNELS)],
            "text": snapshot.text,
            "text_original": None,
            "address": address,
            "campaign": None,
            "free_text_pii": {},
            "location": {"lon": point[0], "lat": point[1]},
            "people_count": self.rng.randint(5, 60) if group else 1,
            "petitioner": stored,
            "representatives": [],
            "police_incident_no": None,
            "grid_worker": None,
            "category_hint": None,
            "external_ref": None,
            "submitted_by": "bench",
            "filed_by_agent": None,
            "door": "api",
            "open311": None,
            "feed": None,
            "tracked": False,
            "assign_seq": 0,
            "request_hash": None,
            "status": "closed" if i % 3 else "assigned",
            "screening": {"outcome": "accepted", "rule": None, "reason": None, "flags": []},
            "confidential": False,
            "links": links.to_document(),
            "petitioner_hash": snapshot.petitioner_hash,
            "petitioner_keys": list(snapshot.petitioner_keys),
            "received_at": snapshot.received_at,
            "lookup": {"version": 1},
        }

    def _later(self, i: int, case: dict[str, Any]) -> list[dict[str, Any]]:
        """The consumer's records of the events other services publish about the case."""
        at = case["received_at"] + timedelta(days=1)
        cid = case["_id"]
        unit = {"code": f"U{i % 40:02d}", "name": f"单位{i % 40:02d}"}
        events: list[tuple[str, dict[str, Any]]] = [
            (
                subjects.CASE_ROUTED,
                {
                    "case_id": cid,
                    "category": {"subcode": f"{10 + i % 9}01"},
                    "jurisdiction": {"town": "990102001"},
                },
            )
        ]
        if i % 3:
            events += [
                (subjects.CASE_REPLIED, {"case_id": cid, "result": "explained"}),
                (subjects.CASE_FOLLOWED_UP, {"case_id": cid, "rating": RATINGS[i % 3]}),
                (subjects.CASE_CLOSED, {"case_id": cid}),
            ]
        if i % 10 == 0:
            agent = {"agent_id": f"A{i % 97}", "agent_name": "代办员", "tier": "village", "how": "intake"}
            events.append((subjects.CASE_REPRESENTED, {"case_id": cid, "case_no": case["case_no"]} | agent))
        if i % 20 == 0:
            # every fortieth entry names another petitioner as a party, linked to none of their cases
            parties = [self.party_key(self.owner[(i * 7919) % len(self.owner)])] if i % 40 == 0 else []
            events.append(
                (
                    subjects.LEDGER_OPENED,
                    {
                        "entry_id": f"E{i}",
                        "entry_no": f"TZ{i}",
                        "status": "opened",
                        "kind": "dispute",
                        "risk_level": "high",
                        "place": {"town": "990102001"},
                        "owner_unit": unit,
                        "case_ids": [cid],
                        "party_keys": seal_keys(self.keys, parties, aad=ledger_keys_aad(f"E{i}")),
                        "opened_at": at.isoformat(),
                    },
                )
            )
        return [
            r
            for n, (kind, data) in enumerate(events)
            for r in records_of(f"e{i}.{n}", kind, data, at, keys=self.keys)
        ]


def now() -> datetime:
    return datetime(2026, 6, 1, tzinfo=UTC)
