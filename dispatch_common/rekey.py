"""Re-encrypt the stored ciphertexts of a collection under the ring's active key (`make rekey`).

Each service says where its ciphertexts are with a `Reseal` function (a document in, the top-level
fields to write out); this module walks a collection and writes. It is

- idempotent: a value sealed with the active key is left as it is, so a second run writes nothing;
- resumable: it pages through the collection by `_id`, and a run that stopped is simply run again;
- safe while the services run: each document is written with `$set` of the changed fields only,
  guarded by the version read, and it moves the version on, so a service that read the document
  before writes nothing back over it (its own version guard fails and it reads again), and the
  outbox relay, whose guard fails too, removes only the entries it published. A document changed
  meanwhile is read again and resealed again. A document a service marks busy (a message being
  sent) is left for the next run.

A value that does not open with the ring (an unknown key, a value moved between records) is not
written; its document is reported, and the run ends with a failure so that no key is removed
while something still needs it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.crypto import PiiKeys, UndecryptableError, decrypt, encrypt, is_current

CONFLICT_RETRIES = 5


class Resealing:
    """Seals a document's values again with the active key, counting them."""

    def __init__(self, keys: PiiKeys, *, dry_run: bool = False) -> None:
        self.keys, self.dry_run = keys, dry_run
        self.resealed = 0
        self.current = 0

    def value(self, token: str, *, aad: str) -> str:
        """The value sealed with the active key (itself if it is; a dry run only checks it opens)."""
        if is_current(self.keys, token) and not self.dry_run:
            self.current += 1
            return token
        clear = decrypt(self.keys, token, aad=aad)  # raises UndecryptableError
        if is_current(self.keys, token):
            self.current += 1
            return token
        self.resealed += 1
        return token if self.dry_run else encrypt(self.keys, clear, aad=aad)

    def maybe(self, token: str | None, *, aad: str) -> str | None:
        """`value` for a field that may be empty."""
        return self.value(token, aad=aad) if token else token


class Busy(Exception):
    """A document a service is working on right now: left for the next run."""


# A document (with the fields the walk projects) in; the top-level fields that changed out.
Reseal = Callable[[Resealing, dict[str, Any]], dict[str, Any]]


@dataclass
class Tally:
    """What one run did to one collection."""

    collection: str
    documents: int = 0  # read
    rewritten: int = 0  # written with values sealed again
    resealed: int = 0  # values sealed again
    current: int = 0  # values already sealed with the active key
    conflicts: int = 0  # documents changed meanwhile, read and resealed again
    busy: list[str] = field(default_factory=list)  # ids left for the next run
    failed: dict[str, str] = field(default_factory=dict)  # id -> why a value did not open

    @property
    def complete(self) -> bool:
        """True when every value of the collection is now sealed with the active key."""
        return not self.busy and not self.failed

    def line(self) -> str:
        """One line for people."""
        text = (
            f"{self.collection}: {self.documents} documents read, {self.rewritten} rewritten, "
            f"{self.resealed} values sealed again, {self.current} already current, "
            f"{self.conflicts} conflicts retried, {len(self.busy)} busy, {len(self.failed)} failed"
        )
        failures = "".join(f"\n  {doc_id}: {why}" for doc_id, why in list(self.failed.items())[:20])
        return text + failures


async def rekey_collection(
    col: AsyncCollection,
    reseal: Reseal,
    keys: PiiKeys,
    *,
    projection: list[str],
    batch: int = 200,
    dry_run: bool = False,
) -> Tally:
    """Seal every value of a collection again with the active key (see the module docstring)."""
    tally = Tally(f"{col.database.name}.{col.name}")
    fields = dict.fromkeys(["version", *projection], 1)
    last: Any = None
    while True:
        query = {"_id": {"$gt": last}} if last is not None else {}
        docs = await col.find(query, fields).sort("_id", ASCENDING).limit(batch).to_list()
        if not docs:
            return tally
        for doc in docs:
            tally.documents += 1
            await _rekey_document(col, doc, reseal, keys, fields, tally, dry_run)
        last = docs[-1]["_id"]


async def _rekey_document(
    col: AsyncCollection,
    doc: dict[str, Any],
    reseal: Reseal,
    keys: PiiKeys,
    fields: dict[str, int],
    tally: Tally,
    dry_run: bool,
) -> None:
    for attempt in range(CONFLICT_RETRIES):
        sealing = Resealing(keys, dry_run=dry_run)
        try:
            changes = reseal(sealing, doc)
        except UndecryptableError as exc:
            tally.failed[str(doc["_id"])] = str(exc)
            return
        except Busy:
            tally.busy.append(str(doc["_id"]))
            return
        if not sealing.resealed or dry_run:
            tally.current += sealing.current
            tally.resealed += sealing.resealed
            return
        if "version" not in doc:
            raise ValueError(f"{tally.collection}/{doc['_id']} has no version to guard the write with")
        guard = {"_id": doc["_id"], "version": doc["version"]}
        written = await col.update_one(guard, {"$set": changes, "$inc": {"version": 1}})
        if written.matched_count == 1:
            tally.rewritten += 1
            tally.resealed += sealing.resealed
            tally.current += sealing.current
            return
        tally.conflicts += 1
        fresh = await col.find_one({"_id": doc["_id"]}, fields)
        if fresh is None:  # removed meanwhile: nothing left to protect
            return
        doc = fresh
        if attempt == CONFLICT_RETRIES - 1:
            tally.busy.append(str(doc["_id"]))
