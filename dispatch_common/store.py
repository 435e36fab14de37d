"""MongoDB access on the portable subset (see docs/decisions/0006): versioned aggregates with an outbox.

An aggregate document carries `version`, and the events it owes in `outbox` with `outbox_pending`.
Writes are single-document and guarded by the version read, so a state change and the events it
causes are stored atomically, and concurrent writers cannot overwrite each other.
"""

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from dispatch_common.contracts import validate_event
from dispatch_common.envelope import Envelope
from dispatch_common.telemetry import current_trace_headers

OUTBOX_FIELD = "outbox"
PENDING_FIELD = "outbox_pending"
T = TypeVar("T")


class VersionConflict(Exception):
    """The aggregate changed since it was read; read it again and redo the command."""


def connect(url: str, *, app_name: str) -> AsyncMongoClient:
    """A client with timezone-aware datetimes, short server selection (fast readiness answers), and a
    bound on waiting for any one answer: an operation the server never answers fails after a minute,
    and the consumer's redelivery or the caller's retry takes over, instead of waiting forever."""
    return AsyncMongoClient(
        url,
        tz_aware=True,
        appname=app_name,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=60_000,
    )


async def ping(client: AsyncMongoClient) -> bool:
    """True when the server answers."""
    try:
        await client.admin.command("ping")
        return True
    except Exception:
        return False


def outbox_entries(events: Iterable[Envelope]) -> list[dict[str, Any]]:
    """Outbox entries for events, each checked against proto/ and carrying the current trace context."""
    entries = []
    headers = current_trace_headers()
    for event in events:
        document = event.to_document()
        validate_event(document)  # a service never stores an event that breaks the contract
        entries.append({"id": event.id, "event": document, "headers": headers})
    return entries


async def insert_aggregate(
    col: AsyncCollection, doc: dict[str, Any], events: Iterable[Envelope] = ()
) -> bool:
    """Insert a new aggregate at version 1 with its events; False if one with that _id exists already."""
    entries = outbox_entries(events)
    try:
        await col.insert_one({**doc, "version": 1, OUTBOX_FIELD: entries, PENDING_FIELD: bool(entries)})
    except DuplicateKeyError:
        return False
    return True


async def save_aggregate(
    col: AsyncCollection, current: dict[str, Any], changes: dict[str, Any], events: Iterable[Envelope] = ()
) -> dict[str, Any]:
    """Apply changes to an aggregate read whole at `current["version"]`, with its events; the new state.

    The document is replaced whole under the version guard rather than patched with `$set`: the
    embedded server stores a datetime set at a top-level or dotted path as a naive string
    (tests/integration/test_storage_conformance.py), and a replacement keeps every type intact.
    `current` must therefore be the whole document, and `changes` holds top-level fields only.
    """
    dotted = [key for key in changes if "." in key or key.startswith("$")]
    if dotted:
        raise ValueError(f"save_aggregate takes top-level fields only, not {dotted}")
    version = current["version"]
    outbox = list(current.get(OUTBOX_FIELD) or []) + outbox_entries(events)
    state = {**current, **changes, "version": version + 1, OUTBOX_FIELD: outbox, PENDING_FIELD: bool(outbox)}
    result = await col.replace_one({"_id": current["_id"], "version": version}, state)
    if result.matched_count != 1:
        raise VersionConflict(f"{col.name}/{current['_id']} is no longer at version {version}")
    return state


async def ensure_outbox_index(col: AsyncCollection) -> None:
    """Index the relay's query."""
    await col.create_index([(PENDING_FIELD, 1)])


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]], *, attempts: int = 5) -> T:
    """Run a read-modify-write command again when another writer got there first."""
    for n in range(attempts):
        try:
            return await attempt()
        except VersionConflict:
            if n == attempts - 1:
                raise
    raise AssertionError("unreachable")
