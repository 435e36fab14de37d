"""Confidential reports (检举控告): who takes and reads them, and the audit of every read.

The county package says, in the `confidential` section of routing_rules.json, which unit types take
reports against officials (routing gives such a case only to a county-level unit of those types, or
to the manual queue) and which roles read every such report. Every service loads that section at
start; the visibility rule itself is one function, `dispatch_common.auth.may_see`. Each time a
service shows a confidential case to someone, it appends who (subject, role, unit), what and when to
its own `confidential_reads` collection, which `GET /v1/audit/confidential-reads` lists for auditors.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import paging
from dispatch_common.auth import Principal, Role, authenticate, may_see, require_roles
from dispatch_common.clock import Clock
from dispatch_common.county import ConfidentialRules

READS_COLLECTION = "confidential_reads"
AUDITORS = (Role.AUDITOR, Role.ADMIN)


class ReadAudit:
    """Every showing of a confidential case, append-only, in the service's own database (another
    collection: every showing of something else, e.g. notify's letters printed with a clear name)."""

    def __init__(self, db: AsyncDatabase, clock: Clock, collection: str = READS_COLLECTION) -> None:
        self.reads = db[collection]
        self._clock = clock

    async def ensure_indexes(self) -> None:
        """Reads by case and by time."""
        await self.reads.create_index([("case_id", 1), ("at_ts", -1)])
        await self.reads.create_index("case_id")
        await self.reads.create_index("at_ts")

    async def record(self, user: Principal, case_ids: Iterable[str], what: str) -> None:
        """Write that the caller was shown these confidential cases, and through what."""
        now = self._clock.now()
        docs = [
            {
                "case_id": case_id,
                "subject": user.subject,
                "role": user.role.value,
                "unit": user.unit,
                "what": what,
                "at": now,
                "at_ts": int(now.timestamp() * 1000),
            }
            for case_id in dict.fromkeys(case_ids)
        ]
        if docs:
            await self.reads.insert_many(docs)

    async def entries(self, *, case_id: str | None, limit: int, cursor: str | None) -> paging.Page:
        """The reads of one case (or of all), newest first, a page after `cursor`."""
        query: dict[str, Any] = {"at_ts": {"$gte": 0}} | ({"case_id": case_id} if case_id else {})
        return await paging.page_or_422(
            self.reads, query, sort="at_ts", descending=True, limit=limit, cursor=cursor
        )


@dataclass(frozen=True)
class Confidentiality:
    """One service's part in protecting confidential reports: the county's rules and its read audit."""

    rules: ConfidentialRules
    audit: ReadAudit

    @classmethod
    def build(cls, county_dir: Path, db: AsyncDatabase, clock: Clock) -> "Confidentiality":
        """Load the county's rules and open the audit collection in the service's database."""
        return cls(ConfidentialRules.load(county_dir), ReadAudit(db, clock))

    @property
    def readers(self) -> frozenset[Role]:
        """The roles that read every confidential report."""
        return frozenset(self.rules.reader_roles)

    def may_see(
        self,
        user: Principal,
        *,
        unit_codes: Iterable[str],
        area_codes: Iterable[str] = (),
        confidential: bool,
    ) -> bool:
        """`auth.may_see` with this county's readers of confidential reports."""
        return may_see(
            user,
            unit_codes=frozenset(unit_codes),
            area_codes=frozenset(area_codes),
            confidential=confidential,
            confidential_readers=self.readers,
        )

    def reads_every_report(self, user: Principal) -> bool:
        """Whether the caller's role reads every confidential report."""
        return user.role in self.readers

    def list_filter(self, user: Principal, field: str = "confidential") -> dict[str, Any]:
        """What a county-wide list adds to its query so that it shows a confidential case only to
        the roles that read every report (a unit's own list is the unit's business)."""
        return {} if self.reads_every_report(user) else {field: {"$ne": True}}

    async def admit(
        self,
        user: Principal,
        case_id: str,
        *,
        unit_codes: Iterable[str],
        area_codes: Iterable[str] = (),
        confidential: bool,
        what: str,
    ) -> bool:
        """Whether the caller may see the case; a confidential case shown is audited."""
        allowed = self.may_see(user, unit_codes=unit_codes, area_codes=area_codes, confidential=confidential)
        if allowed and confidential:
            await self.audit.record(user, [case_id], what)
        return allowed

    async def shown(
        self, user: Principal, docs: Iterable[dict[str, Any]], what: str, key: str = "case_id"
    ) -> None:
        """Audit the confidential cases among the documents a list showed."""
        await self.audit.record(user, [d[key] for d in docs if d.get("confidential") and d.get(key)], what)


class ConfidentialRead(BaseModel):
    """One showing of a confidential report: the case, to whom, through what, when."""

    case_id: str
    subject: str
    role: str
    unit: str | None
    what: str
    at: datetime


class ConfidentialReads(paging.PageHead):
    """A page of the read audit, newest first."""

    items: list[ConfidentialRead]


def include_audit_api(app: FastAPI) -> None:
    """Mount `GET /v1/audit/confidential-reads`; the app's state holds its `confidentiality`."""
    router = APIRouter(prefix="/v1/audit", tags=["audit"])

    @router.get(
        "/confidential-reads",
        response_model=ConfidentialReads,
        summary="Who was shown confidential reports (检举控告) by this service, newest first",
    )
    async def confidential_reads(
        request: Request,
        user: Annotated[Principal, Depends(authenticate)],
        case_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
        limit: paging.Limit = 100,
        cursor: paging.Cursor = None,
    ) -> dict[str, Any]:
        """Each read: the case, who (subject, role, unit), through what, and when; `next_cursor`
        reads on (null: the last page)."""
        require_roles(user, *AUDITORS)
        conf: Confidentiality = request.app.state.confidentiality
        found = await conf.audit.entries(case_id=case_id, limit=limit, cursor=cursor)
        items = [{k: v for k, v in doc.items() if k not in ("_id", "at_ts")} for doc in found.items]
        return {"items": items, "limit": limit, "next_cursor": found.next_cursor}

    app.include_router(router)
