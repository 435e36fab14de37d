"""The `identity_links` collection: which ID numbers each phone was seen with (domain/identities.py).

One document per (phone hash, ID hash) pair, `{_id: "<phone>:<id>", phone, person}`, inserted with
the case that showed the pair (in the case's own bulkWrite, `along`), never updated. A lookup is one
equality on the `phone` index, limited to two documents: two distinct owners are enough to know a
phone is shared.
"""

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.domain.identities import Identity, resolve

COLLECTION = "identity_links"


class IdentityLinks:
    """Find the ID numbers a phone was seen with; the link a case shows goes along with the case."""

    def __init__(self, db: AsyncDatabase, collection: str = COLLECTION) -> None:
        self.col: AsyncCollection = db[collection]

    async def ensure_indexes(self) -> None:
        await self.col.create_index([("phone", ASCENDING)])

    async def identify(self, stored: dict[str, Any]) -> Identity:
        """The identity of a stored petitioner (`id_hash`, `phone_hash`): one read when a phone is given."""
        id_hash, phone_hash = stored.get("id_hash"), stored.get("phone_hash")
        owners: list[str] = []
        if phone_hash:
            found = self.col.find({"phone": phone_hash}, {"person": 1}).limit(2)
            owners = [doc["person"] async for doc in found]
        return resolve(id_hash, phone_hash, owners)

    def entry(self, identity: Identity) -> list[tuple[AsyncCollection, dict[str, Any]]]:
        """The link to write along with the case, if the case shows a new one."""
        return [(self.col, identity.link)] if identity.link else []
