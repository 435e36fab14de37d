"""The verifiers of the petitioners' lookup codes (查询码), by case number, as intake announced them.

One document per case, `{_id: case_no, case_id, version, verifier}` in `lookup_codes`: written from
`dispatch.case.received` (version 1) and `dispatch.case.lookup_code_changed` (a re-issue, or a
revocation with no verifier); a version never goes back, whatever order the events come in. Only the
portable subset: an insert (one round trip for a new case, the usual), else an update guarded by a
lower version.
"""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from dispatch_common import store, subjects
from dispatch_common.bus import Delivery


class LookupCodes:
    """The verifiers the public progress lookup checks codes against."""

    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    async def record(self, case_no: str, case_id: str, version: int, verifier: str | None) -> None:
        """Keep a code's verifier unless a later version is kept already."""
        doc = {"case_id": case_id, "version": version, "verifier": verifier}
        try:
            await self.collection.insert_one({"_id": case_no, **doc})
        except DuplicateKeyError:  # known already: keep this version only if it is later
            await self.collection.update_one({"_id": case_no, "version": {"$lt": version}}, {"$set": doc})

    async def find(self, case_no: str) -> dict[str, Any] | None:
        """The verifier of a case number, or None."""
        return await self.collection.find_one({"_id": case_no})

    async def apply(self, deliveries: list[Delivery]) -> None:
        """Record the verifiers a batch of events brings (others are ignored): the new cases' in one
        insert, whatever the batch's size; a known case's, and each re-issue, under the version guard."""
        found: list[tuple[str, str, int, str | None]] = []
        for delivery in deliveries:
            event = delivery.event
            data = event.data
            if event.type == subjects.CASE_RECEIVED and data.get("lookup"):
                lookup = data["lookup"]
                found.append((data["case_no"], data["case_id"], lookup["version"], lookup["verifier"]))
            elif event.type == subjects.CASE_LOOKUP_CODE_CHANGED:
                found.append((data["case_no"], data["case_id"], data["version"], data["verifier"]))
        if not found:
            return
        docs = [
            {"_id": no, "case_id": cid, "version": v, "verifier": verifier} for no, cid, v, verifier in found
        ]
        for index in await store.insert_new(self.collection, docs):  # known already (or twice in the batch)
            await self.record(*found[index])
