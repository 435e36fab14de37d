"""Channel rate limits that hold across replicas: one counter per channel and time window in MongoDB.

Each sender still smooths its own sends with a token bucket; before it claims due messages it also
asks this shared budget for as many sends as it found, with one `find_one_and_update` (`$inc`, upsert:
the portable subset) per round that found due messages, and one more update when the budget could
not give all it asked (the refused part is taken back, so the count is what was granted). The window
is one second (longer for a rate below one a second), so all replicas together send at most the rate
in any window; at a window's edge two windows' budgets may follow each other closely. Windows older
than a minute are deleted by the sender's recovery step. A replica that was granted sends but lost the
messages to another replica's claim gives them back; one that was granted none waits for the next
window.
"""

import math
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

KEEP_WINDOWS_SECONDS = 60


def window_of(rate: float) -> tuple[int, int]:
    """The window (seconds) and its budget (sends) for a rate in sends per second."""
    seconds = max(1, math.ceil(1 / rate))
    return seconds, max(1, math.floor(rate * seconds))


class SharedRateLimits:
    """The budget of every replica's sends per channel and window (collection `channel_windows`)."""

    def __init__(self, windows: AsyncCollection, rates: dict[str, float]) -> None:
        self.windows, self.rates = windows, rates

    async def grant(self, channel: str, wanted: int, now: datetime) -> int:
        """Take up to `wanted` sends of the channel's budget in the window of `now`; how many were given."""
        rate = self.rates.get(channel)
        if rate is None or wanted <= 0:
            return wanted
        seconds, budget = window_of(rate)
        start = int(now.timestamp()) // seconds * seconds
        doc = await self.windows.find_one_and_update(
            {"_id": f"{channel}:{start}"},
            {"$inc": {"n": wanted}, "$set": {"start": start}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        taken_before = int(doc["n"]) - wanted
        granted = max(0, min(wanted, budget - taken_before))
        if granted < wanted:  # what was refused is taken back, so the count stays what was granted
            await self.windows.update_one({"_id": doc["_id"]}, {"$inc": {"n": granted - wanted}})
        return granted

    async def give_back(self, channel: str, unused: int, now: datetime) -> None:
        """Return sends granted but not made (another replica claimed those messages first)."""
        rate = self.rates.get(channel)
        if rate is None or unused <= 0:
            return
        seconds, _ = window_of(rate)
        start = int(now.timestamp()) // seconds * seconds
        await self.windows.update_one({"_id": f"{channel}:{start}"}, {"$inc": {"n": -unused}})

    def until_next_window(self, channel: str, now: datetime) -> float:
        """Seconds from `now` to the start of the channel's next window."""
        seconds, _ = window_of(self.rates.get(channel, 1.0))
        return seconds - now.timestamp() % seconds

    async def forget_old(self, now: datetime) -> None:
        """Delete the windows of more than a minute ago."""
        await self.windows.delete_many({"start": {"$lt": int(now.timestamp()) - KEEP_WINDOWS_SECONDS}})

    async def ensure_indexes(self) -> None:
        """The windows by start, for `forget_old`."""
        await self.windows.create_index("start")
