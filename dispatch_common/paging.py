"""Cursor pagination (keyset) for lists that must page through many documents.

A page is read in the order of one sort field and `_id` (the tie-breaker); the cursor is the last
item's (value, `_id`), opaque to the client (URL-safe base64 of JSON). The next page asks for the
values from the cursor's on (`$gte` / `$lte` on the sort field: an index range on both servers, no
`$or`, which the embedded server scans) and passes over the items at or before the cursor, so a page
costs what it shows, however deep, and a document added meanwhile is neither skipped nor repeated.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from bson import ObjectId
from fastapi import HTTPException, Query, status
from pydantic import BaseModel, Field
from pymongo.asynchronous.collection import AsyncCollection

MAX_CURSOR = 512
MAX_LIMIT = 200  # the largest page any list gives; a larger `limit` is a 422, never a silent cap

Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR, description="`next_cursor` of the page before; absent: the first page"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, at most {MAX_LIMIT}")]

Item = TypeVar("Item")


class PageOf(BaseModel, Generic[Item]):
    """One page of a list (the answer's shape in OpenAPI): its items, the cursor of the next page
    (null: the last one) and, where counting is cheap, how many items the whole list has."""

    items: list[Item]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: no more")
    total: int | None = Field(None, description="items in the whole list, where counting is cheap")


class PageHead(BaseModel):
    """What a page answers besides its items, for lists that also echo their `limit`: subclasses add
    `items` of their own type."""

    limit: int
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null: no more")


class BadCursor(ValueError):
    """A cursor this list did not give (HTTP 422 on `cursor`)."""


@dataclass(frozen=True)
class Page:
    """A page of items, and the cursor of the next one (None: the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def encode(value: Any, doc_id: Any) -> str:
    """The cursor after an item with this sort value and id (a datetime is kept as one)."""
    if isinstance(value, datetime):
        value = {"at": value.isoformat()}
    raw = json.dumps([value, doc_id], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[Any, Any]:
    """The (sort value, id) a cursor stands for; BadCursor when it is not one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, doc_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if isinstance(value, dict) and set(value) == {"at"}:
            value = datetime.fromisoformat(value["at"])
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise BadCursor("not a cursor this list gave") from exc
    if isinstance(value, (dict, list)) or isinstance(doc_id, (dict, list)):
        raise BadCursor("not a cursor this list gave")
    return value, doc_id


def _plain(doc_id: Any) -> Any:
    """An id as a cursor holds it: an id the database made (an ObjectId) as its hex, which orders as
    the ObjectId does (fixed width), so lists of records without ids of their own page too."""
    return str(doc_id) if isinstance(doc_id, ObjectId) else doc_id


def _after(item: tuple[Any, Any], cursor: tuple[Any, Any], descending: bool) -> bool:
    return item < cursor if descending else item > cursor


async def page_or_422(col: AsyncCollection, query: dict[str, Any], **how: Any) -> Page:
    """`page` for an HTTP list: a cursor the list did not give is a 422 on the `cursor` parameter."""
    try:
        return await page(col, query, **how)
    except BadCursor as exc:
        problem = [{"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem) from exc


async def page(
    col: AsyncCollection,
    query: dict[str, Any],
    *,
    sort: str,
    limit: int,
    cursor: str | None = None,
    descending: bool = False,
    projection: dict[str, Any] | None = None,
) -> Page:
    """One page of `query` in (`sort`, `_id`) order from the cursor on. The query should require the
    sort field (every item has a value); a range the query has on it is kept."""
    where = dict(query)
    start = decode(cursor) if cursor else None
    if start is not None:
        bound = {"$lte" if descending else "$gte": start[0]}
        where[sort] = {**where[sort], **bound} if isinstance(where.get(sort), dict) else bound
    order = -1 if descending else 1
    items: list[dict[str, Any]] = []
    found = col.find(where, projection).sort([(sort, order), ("_id", order)])
    async for doc in found:
        if start is not None and not _after((doc.get(sort), _plain(doc["_id"])), start, descending):
            continue  # at or before the cursor: shown on an earlier page
        items.append(doc)
        if len(items) > limit:
            break
    await found.close()
    if len(items) <= limit:
        return Page(items, None)
    last = items[limit - 1]
    return Page(items[:limit], encode(last.get(sort), _plain(last["_id"])))
