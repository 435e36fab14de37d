"""Cursor pages for lists: keyset pagination on an integer sort field and the `_id`.

A page answers `{"items": [...], "limit": n, "next_cursor": "..."}`; the caller passes `next_cursor`
back as `cursor` for the next page, and a page without `next_cursor` is the last. The cursor is opaque
to callers (base64url of the last item's sort value and id), so records added meanwhile neither repeat
nor shift what is left, as `skip` would. The query is an equality plus a range on one integer field,
within the portable subset (docs/architecture.md).
"""

import base64
import json
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection


class BadCursor(ValueError):
    """A cursor this service did not give (HTTP 422 at `query.cursor`)."""


def encode(key: int, doc_id: str) -> str:
    """The cursor that starts after (key, id)."""
    return base64.urlsafe_b64encode(json.dumps([key, doc_id]).encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[int, str]:
    """(key, id) of a cursor; BadCursor if it is not one of ours."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, doc_id = raw
        if not isinstance(key, int) or isinstance(key, bool) or not isinstance(doc_id, str):
            raise ValueError("not a cursor")
    except ValueError as exc:  # also binascii.Error and json.JSONDecodeError
        raise BadCursor("not a cursor of this list; pass next_cursor as it was given") from exc
    return key, doc_id


async def page(
    col: AsyncCollection,
    query: dict[str, Any],
    *,
    key: str,
    limit: int,
    cursor: str | None,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `query`, ordered by the integer field `key` then `_id`, after `cursor`; the page and
    the cursor of the next one (None when this one is the last). Raises BadCursor."""
    if cursor:
        after, after_id = decode(cursor)
        query = {**query, "$or": [{key: {"$gt": after}}, {key: after, "_id": {"$gt": after_id}}]}
    found = col.find(query, projection).sort([(key, ASCENDING), ("_id", ASCENDING)]).limit(limit + 1)
    docs = [doc async for doc in found]
    more = len(docs) > limit
    docs = docs[:limit]
    last = docs[-1] if docs else None
    return docs, encode(int(last.get(key) or 0), str(last["_id"])) if more and last else None
