"""MongoDB access on the portable subset (see docs/decisions/0006): versioned aggregates with an outbox.

An aggregate document carries `version`, and the events it owes in `outbox` with `outbox_pending`
and `outbox_at` (when they were written, integer ms). Writes are single-document and guarded by the
version read, so a state change and the events it causes are stored atomically, and concurrent
writers cannot overwrite each other. What a process writes to an outbox its relay watches is also
handed to that relay in memory (`OWED`), so each replica publishes its own writes without reading
them back, and leaves the others' alone (dispatch_common/outbox.py).
"""

import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, InsertOne, ReplaceOne, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, ClientBulkWriteException, DuplicateKeyError

from dispatch_common import metrics
from dispatch_common.contracts import validate_event
from dispatch_common.envelope import Addressed, Outgoing
from dispatch_common.telemetry import current_trace_headers

OUTBOX_FIELD = "outbox"
PENDING_FIELD = "outbox_pending"
WRITTEN_FIELD = "outbox_at"
WRITER_FIELD = "written_by"  # which bulk write stored this version (store.save_aggregates)
DUPLICATE_KEY = 11000
CLIENT_BULK_WRITE_WIRE_VERSION = 25  # MongoDB 8.0: one bulkWrite across collections
T = TypeVar("T")


class Owed:
    """The outbox entries this process wrote and its relay has not taken yet, per watched collection.

    Only collections a relay watches are kept (a write elsewhere, e.g. by a tool, is left to the
    relays' sweep); for one document the latest write wins, since its outbox holds every entry still
    owed. Lost on a crash, which the sweep and the next start's drain make good.
    """

    def __init__(self) -> None:
        self._owed: dict[str, dict[Any, tuple[int, list[dict[str, Any]]]]] = {}

    def watch(self, col: AsyncCollection) -> None:
        """Start keeping what is written to this collection."""
        self._owed.setdefault(col.full_name, {})

    def add(
        self,
        col: AsyncCollection,
        doc_id: Any,
        version: int,
        entries: list[dict[str, Any]],
        *,
        only_if_absent: bool = False,
    ) -> None:
        """Remember a document's owed entries at the version just written (`only_if_absent`: unless a
        newer write was remembered meanwhile)."""
        owed = self._owed.get(col.full_name)
        if owed is None or not entries or (only_if_absent and doc_id in owed):
            return
        owed[doc_id] = (version, entries)

    def count(self) -> int:
        """The events this process wrote and its relay has not published yet."""
        return sum(len(entries) for owed in self._owed.values() for _, entries in owed.values())

    def take(self, col: AsyncCollection) -> list[dict[str, Any]]:
        """Everything owed in this collection, as documents `{_id, version, outbox}`; forgotten here."""
        owed = self._owed.get(col.full_name)
        if not owed:
            return []
        taken = [{"_id": i, "version": v, OUTBOX_FIELD: entries} for i, (v, entries) in owed.items()]
        owed.clear()
        return taken


OWED = Owed()


def now_ms() -> int:
    """Wall-clock time in integer milliseconds, as `outbox_at` holds it."""
    return int(time.time() * 1000)


class VersionConflict(Exception):
    """The aggregate changed since it was read; read it again and redo the command."""


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends, by name (`dispatch_mongodb_commands_total`): the round trips
    each service costs the store, counted rather than estimated (bench/e2e_load.py reads them)."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._counters: dict[tuple[str, str], Any] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Count one command, by name and the collection it names (`-` for commands on none)."""
        target = event.command.get(event.command_name)
        key = (event.command_name, target if isinstance(target, str) else "-")
        counter = self._counters.get(key)
        if counter is None:
            counter = metrics.MONGODB_COMMANDS.labels(self._service, *key)
            self._counters[key] = counter
        counter.inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Nothing to do: the command was counted when it started."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Nothing to do: the command was counted when it started."""


def connect(url: str, *, app_name: str, trace_commands: bool = False) -> AsyncMongoClient:
    """A client with timezone-aware datetimes, short server selection (fast readiness answers), a
    bound on waiting for any one answer (an operation the server never answers fails after a minute,
    and the consumer's redelivery or the caller's retry takes over, instead of waiting forever), its
    commands counted by name and, with `trace_commands`, each one a client span (db_spans.py)."""
    listeners: list[monitoring.CommandListener] = [CommandCounter(app_name)]
    if trace_commands:
        from dispatch_common.db_spans import CommandSpans

        listeners.append(CommandSpans())
    return AsyncMongoClient(
        url,
        tz_aware=True,
        appname=app_name,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=60_000,
        event_listeners=listeners,
    )


async def ping(client: AsyncMongoClient) -> bool:
    """True when the server answers."""
    try:
        await client.admin.command("ping")
        return True
    except Exception:
        return False


def outbox_entries(events: Iterable[Outgoing]) -> list[dict[str, Any]]:
    """Outbox entries for events, each checked against proto/ and carrying the current trace context
    (and its subject, for an event addressed to another subject than its type)."""
    entries = []
    headers = current_trace_headers()
    for item in events:
        event = item.event if isinstance(item, Addressed) else item
        document = event.to_document()
        validate_event(document)  # a service never stores an event that breaks the contract
        entry = {"id": event.id, "event": document, "headers": headers}
        if isinstance(item, Addressed):
            entry["subject"] = item.subject
        entries.append(entry)
    return entries


async def insert_aggregate(
    col: AsyncCollection,
    doc: dict[str, Any],
    events: Iterable[Outgoing] = (),
    *,
    along: Sequence[tuple[AsyncCollection, dict[str, Any]]] = (),
) -> bool:
    """Insert a new aggregate at version 1 with its events; False if one with that _id exists already.

    `along` are documents of other collections written in the same round trip, after the aggregate
    and only if it was inserted (one ordered client-level bulkWrite, MongoDB 8.0). They are not atomic
    with it, but no crash of this process can fall between them. One that exists already (the same
    `_id`: a retry) is left as it is; any other failure of theirs raises, after the aggregate's events
    are handed to the relay, since the aggregate is stored.
    """
    entries = outbox_entries(events)
    owed = {OUTBOX_FIELD: entries, PENDING_FIELD: bool(entries), WRITTEN_FIELD: now_ms()}
    aggregate = {**doc, "version": 1, **owed}
    failure: ClientBulkWriteException | None = None  # of an `along` document only
    try:
        if along:
            writes = [InsertOne(aggregate, namespace=col.full_name)]
            writes += [InsertOne(other, namespace=target.full_name) for target, other in along]
            await col.database.client.bulk_write(writes, ordered=True)
        else:
            await col.insert_one(aggregate)
    except DuplicateKeyError:
        return False
    except ClientBulkWriteException as exc:
        if exc.error is not None:  # the command itself failed: nothing is known to be written
            raise
        first = next((error for error in exc.write_errors if error["idx"] == 0), None)
        if first is not None:  # the aggregate's own insert (an ordered bulkWrite stopped there)
            if first.get("code") == DUPLICATE_KEY:
                return False
            raise
        if any(error.get("code") != DUPLICATE_KEY for error in exc.write_errors):
            failure = exc
    OWED.add(col, doc["_id"], 1, entries)
    if failure is not None:
        raise failure
    return True


def duplicate_indexes(exc: BulkWriteError) -> list[int]:
    """The indexes of an unordered insert's documents whose `_id` existed already; raises the error
    again when any write failed for another reason."""
    errors = exc.details.get("writeErrors") or []
    if exc.details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in errors):
        raise exc
    return [e["index"] for e in errors]


async def insert_new(col: AsyncCollection, docs: list[dict[str, Any]]) -> list[int]:
    """Insert documents in one unordered insert; the indexes of those that existed already (left as
    they are: the same `_id` is the same record)."""
    if not docs:
        return []
    try:
        await col.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        return duplicate_indexes(exc)
    return []


async def insert_aggregates(
    col: AsyncCollection, items: Sequence[tuple[dict[str, Any], Iterable[Outgoing]]]
) -> set[Any]:
    """Insert new aggregates at version 1, each with its events, in one unordered insert; the ids of
    those inserted (one whose `_id` exists already was recorded before: it is left as it is)."""
    if not items:
        return set()
    docs = []
    written = now_ms()
    for doc, events in items:
        entries = outbox_entries(events)
        docs.append(
            {**doc, "version": 1, OUTBOX_FIELD: entries, PENDING_FIELD: bool(entries), WRITTEN_FIELD: written}
        )
    existing = set(await insert_new(col, docs))
    inserted = set()
    for index, doc in enumerate(docs):
        if index not in existing:
            OWED.add(col, doc["_id"], 1, doc[OUTBOX_FIELD])
            inserted.add(doc["_id"])
    return inserted


async def require_client_bulk_write(client: AsyncMongoClient) -> None:
    """Fail, saying why, unless the server takes one bulkWrite across collections (MongoDB 8.0+)."""
    check_client_bulk_write(await client.admin.command("hello"))


def check_client_bulk_write(hello: dict[str, Any]) -> None:
    """Raise unless a server's `hello` answer says it takes a client-level bulkWrite."""
    version = hello.get("maxWireVersion", 0)
    if version < CLIENT_BULK_WRITE_WIRE_VERSION:
        raise RuntimeError(
            "MONGODB_URL must name MongoDB 8.0 or later: a new aggregate and the documents along it "
            f"are written in one bulkWrite across collections (the server's wire version is {version}, "
            f"8.0's is {CLIENT_BULK_WRITE_WIRE_VERSION})"
        )


async def save_aggregate(
    col: AsyncCollection, current: dict[str, Any], changes: dict[str, Any], events: Iterable[Outgoing] = ()
) -> dict[str, Any]:
    """Apply changes to an aggregate read whole at `current["version"]`, with its events; the new state.

    The document is replaced whole under the version guard rather than patched with `$set`: the
    embedded server stores a datetime set at a top-level or dotted path as a naive string
    (tests/integration/test_storage_conformance.py), and a replacement keeps every type intact.
    `current` must therefore be the whole document, and `changes` holds top-level fields only.
    """
    version = current["version"]
    state = _next_state(current, changes, events)
    result = await col.replace_one({"_id": current["_id"], "version": version}, state)
    if result.matched_count != 1:
        raise VersionConflict(f"{col.name}/{current['_id']} is no longer at version {version}")
    OWED.add(col, current["_id"], version + 1, state[OUTBOX_FIELD])
    return state


async def save_aggregates(
    col: AsyncCollection, items: Sequence[tuple[dict[str, Any], dict[str, Any], Iterable[Outgoing]]]
) -> list[dict[str, Any] | None]:
    """`save_aggregate` for several aggregates in one write: each (current, changes, events) is
    replaced whole under its own version guard. The new states in order, None for each that changed
    meanwhile (read it again and redo its command)."""
    if len(items) == 1:
        current, changes, events = items[0]
        try:
            return [await save_aggregate(col, current, changes, events)]
        except VersionConflict:
            return [None]
    writer = secrets.token_hex(8)  # tells this write's documents from another writer's of the same version
    states: list[dict[str, Any]] = []
    writes: list[ReplaceOne] = []
    for current, changes, events in items:
        state = _next_state(current, changes, events) | {WRITER_FIELD: writer}
        states.append(state)
        writes.append(ReplaceOne({"_id": current["_id"], "version": current["version"]}, state))
    if not writes:
        return []
    result = await col.bulk_write(writes, ordered=False)
    saved: list[bool] = [True] * len(states)
    if result.matched_count != len(states):  # some lost a race: find out which
        found = {
            doc["_id"]: doc
            async for doc in col.find(
                {"_id": {"$in": [s["_id"] for s in states]}}, {"version": 1, WRITER_FIELD: 1}
            )
        }
        saved = [
            (found.get(s["_id"]) or {}).get(WRITER_FIELD) == writer
            and found[s["_id"]].get("version") == s["version"]
            for s in states
        ]
    for state, ok in zip(states, saved, strict=True):
        if ok:
            OWED.add(col, state["_id"], state["version"], state[OUTBOX_FIELD])
    return [state if ok else None for state, ok in zip(states, saved, strict=True)]


def _next_state(
    current: dict[str, Any], changes: dict[str, Any], events: Iterable[Outgoing]
) -> dict[str, Any]:
    """An aggregate's next state: the changes over the whole document, the next version, the events
    owed added to those still owed."""
    dotted = [key for key in changes if "." in key or key.startswith("$")]
    if dotted:
        raise ValueError(f"save_aggregate takes top-level fields only, not {dotted}")
    outbox = list(current.get(OUTBOX_FIELD) or []) + outbox_entries(events)
    owed = {OUTBOX_FIELD: outbox, PENDING_FIELD: bool(outbox), WRITTEN_FIELD: now_ms()}
    return {**current, **changes, "version": current["version"] + 1, **owed}


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
