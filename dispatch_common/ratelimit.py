"""Per-client rate limits that hold across replicas: one shared counter document per client and window.

A client's requests of one class (e.g. case submissions) are counted in fixed windows of
`window_seconds`, in the service's MongoDB: `{_id: "<class>|<client>|<window>", n, s<second>,
expires}`. Each request is one `find_one_and_update` with `$inc` and `upsert` (one round trip, atomic
on MongoDB and on the embedded server alike; docs/decisions/0019), which counts it in the window and
in its second of the window, and returns both counts: more than `requests` in the window, or more
than `burst` in one second, and the request is refused with the seconds until the window (or the
second) ends. Every replica counts in the same documents, so the limit is the county's, not the
process's. Windows are aligned to the epoch, so the replicas' clocks must agree (NTP). Refused
requests are counted too: a client that keeps hammering stays refused until the window ends. Old
windows are deleted by `sweep`, which a service runs periodically.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection


class RateLimit(BaseModel):
    """At most `requests` per `window_seconds` per client, and at most `burst` in any one second."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int = Field(ge=1)
    window_seconds: float = Field(gt=0, le=86_400)
    burst: int | None = Field(None, ge=1)


class RateLimiter:
    """Counts requests per class and client in a shared collection and says when to refuse them."""

    def __init__(
        self,
        collection: AsyncCollection,
        limits: dict[str, RateLimit],
        *,
        enabled: bool = True,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.collection, self.limits, self.enabled, self._now = collection, limits, enabled, now

    def limit(self, kind: str, role: str | None = None) -> RateLimit | None:
        """The limit of a class of requests, for a role when one is set for it (`<class>:<role>`)."""
        return self.limits.get(f"{kind}:{role}") or self.limits.get(kind)

    async def ensure_indexes(self) -> None:
        """The index the sweep deletes by."""
        await self.collection.create_index("expires")

    async def check(self, kind: str, client: str, role: str | None = None) -> float | None:
        """Count one request of `client`; None when it may go on, else the seconds to wait."""
        limit = self.limit(kind, role)
        if not self.enabled or limit is None:
            return None
        now = self._now()
        window = math.floor(now / limit.window_seconds)
        start, end = window * limit.window_seconds, (window + 1) * limit.window_seconds
        second = f"s{math.floor(now - start)}"
        counts = await self.collection.find_one_and_update(
            {"_id": f"{kind}|{client}|{window}"},
            {"$inc": {"n": 1, second: 1}, "$set": {"expires": math.ceil(end)}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            projection={"_id": 0, "n": 1, second: 1},
        )
        assert counts is not None  # upsert with return_document=AFTER always returns the document
        if counts["n"] > limit.requests:
            return end - now
        if limit.burst is not None and counts[second] > limit.burst:
            return min(end, math.floor(now) + 1) - now
        return None

    async def sweep(self) -> int:
        """Delete the windows that have ended; how many."""
        result = await self.collection.delete_many({"expires": {"$lte": math.floor(self._now())}})
        return result.deleted_count


def retry_after(seconds: float) -> str:
    """A `Retry-After` value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
