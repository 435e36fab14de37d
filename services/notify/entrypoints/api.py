"""Notify's HTTP API: messages and their delivery, inboxes and letters (templates: templates.py)."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse

from dispatch_common import etag, paging
from dispatch_common.auth import Principal, Resolver, Role
from dispatch_common.authz import Scope
from dispatch_common.paging import Cursor, Limit
from dispatch_common.store import VersionConflict, retry_on_conflict
from services.notify.adapters.inbox import HIDDEN, per_reader
from services.notify.container import Notify
from services.notify.entrypoints import templates
from services.notify.entrypoints.deps import CurrentUser, NotifyDeps
from services.notify.entrypoints.schemas import InboxPage, Message, MessagePage, MessageWithAttempts

router = APIRouter(prefix="/v1", tags=["notifications"])
# Who may call each operation, and with which scope: data/policy/authorization.yaml; reading a
# petitioner's inbox of a case is its capability `petitioner_inbox`.
CaseId = Annotated[str, Query(min_length=1, max_length=128)]


def _ms_to_time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def message_view(d: dict[str, Any]) -> dict[str, Any]:
    """A message as answers show it: the recipient masked, no contact, no address."""
    return {
        "id": d["_id"],
        "case_id": d.get("case_id"),
        "case_no": d.get("case_no"),
        "kind": d["kind"],
        "level": d.get("level"),
        "audience": d.get("audience"),
        "channel": d["channel"],
        "recipient": d["recipient"],
        "status": d["status"],
        "attempts": d.get("attempts", 0),
        "sent_at": d.get("sent_at"),
        "created_at": d.get("created_at"),
        "next_attempt_at": _ms_to_time(d.get("due_ts")) if d["status"] in ("queued", "failed") else None,
        "urgent": bool(d.get("urgent")),
        "subject": d.get("subject"),
        "body": d.get("body"),
        "has_document": bool(d.get("document_html")),
        "channel_reason": d.get("channel_reason"),
        "last_error": d.get("last_error"),
        "dead_reason": d.get("dead_reason"),
        "template_version": d.get("template_version"),
        "language": d.get("language"),
        "language_fallback": bool(d.get("language_fallback")),
        "language_fallback_reason": d.get("language_fallback_reason"),
        "read": d.get("read") if d["channel"] == "inbox" else None,
        "read_at": d.get("read_at"),
        "version": d.get("version", 1),
    }


@router.get(
    "/notifications",
    response_model=MessagePage,
    summary="Messages of a case (or in one state), recipients masked, a page at a time",
)
async def list_notifications(
    user: CurrentUser,
    notify: NotifyDeps,
    case_id: CaseId | None = None,
    case_no: Annotated[str | None, Query(min_length=1, max_length=64, description="the number told")] = None,
    state: Annotated[str | None, Query(alias="status", pattern="^(queued|sent|failed|dead)$")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every message of a case (by id, or by the number the petitioner was told), oldest first; or,
    without a case, the messages in one state, newest first. The reception window finds a
    petitioner's letter (答复意见书, 告知书) this way to print it (`/document`). A page leaves out the
    messages of the case the caller may not see, so it may hold fewer than `limit`: follow
    `next_cursor` until it is null."""
    conf = notify.confidentiality
    query: dict[str, Any] = {"status": state} if state else {}
    if case_id or case_no:
        query |= {"case_id": case_id} if case_id else {"case_no": case_no}
        descending = False
    elif state:
        query |= conf.list_filter(user)
        descending = True
    else:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give case_id, case_no or status")
    found = await paging.page_or_422(
        notify.messages.notifications,
        query,
        sort="created_ts",
        limit=limit,
        cursor=cursor,
        descending=descending,
        projection=HIDDEN,
    )
    docs = [d for d in found.items if _may_see(user, d, notify)]
    await conf.shown(user, docs, "notifications")
    return {"items": [message_view(d) for d in docs], "next_cursor": found.next_cursor}


async def _message(notify: Notify, notification_id: str) -> dict[str, Any]:
    doc = await notify.messages.get(notification_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {notification_id}")
    return doc


def inbox_owners(user: Principal) -> set[str]:
    """The inboxes a caller reads: its role's, its unit's, its unit leader's."""
    owners = {f"role:{user.role.value}"}
    if user.role == Role.PROXY_AGENT:  # an agent's own inbox: its notices, copies of its petitioners'
        owners.add(f"agent:{user.subject}")
    if user.unit:
        owners.add(f"unit:{user.unit}")
        if user.role == Role.UNIT_LEADER:
            owners.add(f"unit_leader:{user.unit}")
    return owners


def _petitioner_inbox(user: Principal, confidential: bool, notify: Notify) -> bool:
    """Who reads a petitioner's inbox: the reception window and the petition portal (the table's
    capability `petitioner_inbox`); a confidential reporter's only the portal (acting for the
    reporter) and the roles that read every report."""
    if confidential:
        return user.role == Role.EXTERNAL_SYSTEM or notify.confidentiality.reads_every_report(user)
    return "petitioner_inbox" in user.capabilities


async def _may_read_petitioner_inbox(user: Principal, case_id: str, notify: Notify) -> None:
    """Refuse (`403`) a petitioner's inbox to a caller without the capability `petitioner_inbox` (or
    the county's readers of reports); an external system (scope `own`) reads only the inboxes of the
    cases it submitted (`404` for the others, as for an absent case)."""
    scope = user.capabilities.get("petitioner_inbox")
    if scope is None and user.role not in notify.confidentiality.readers:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"role {user.role.value} may not read a petitioner's inbox"
        )
    if scope == Scope.OWN and (await notify.messages.case(case_id)).get("submitted_by") != user.subject:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")


def _may_see(user: Principal, doc: dict[str, Any], notify: Notify) -> bool:
    """A message: county-wide readers and its recipient; a confidential report's message only its
    recipient and the roles that read every report (dispatch_common/auth.may_see)."""
    owner = doc.get("inbox_owner") or doc.get("recipient_key")
    petitioners = str(owner).startswith("petitioner:")
    if petitioners and user.capabilities.get("petitioner_inbox") == Scope.OWN:  # an external system
        return doc.get("submitted_by") == user.subject  # of the cases it submitted only
    if doc.get("confidential"):
        if str(owner).startswith("petitioner:"):
            return _petitioner_inbox(user, True, notify)
        return notify.confidentiality.reads_every_report(user) or owner in inbox_owners(user)
    if user.county_wide:
        return True
    return owner in inbox_owners(user)


@router.get(
    "/notifications/{notification_id}",
    response_model=MessageWithAttempts,
    responses={200: {"headers": etag.ETAG_HEADER}},
    summary="One message with its delivery attempts",
)
async def get_notification(
    notification_id: str, user: CurrentUser, notify: NotifyDeps, response: Response
) -> dict[str, Any]:
    """A message and every try to deliver it; `ETag`: its version, for If-Match on a retry or a read."""
    doc = await _message(notify, notification_id)
    if not _may_see(user, doc, notify):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {notification_id}")
    await notify.confidentiality.shown(user, [doc], "notification")
    etag.send(response, doc["version"])
    attempts = await notify.messages.attempts_of(notification_id)
    return message_view(doc) | {"attempt_log": attempts}


@router.get(
    "/notifications/{notification_id}/document",
    summary="The letter of a formal notice (告知书, 答复意见书, 督办函...) as HTML",
    response_class=HTMLResponse,
)
async def get_document(notification_id: str, user: CurrentUser, notify: NotifyDeps) -> HTMLResponse:
    """The letter-style document of a formal notice, as it was rendered when the notice was recorded."""
    doc = await _message(notify, notification_id)
    if not _may_see(user, doc, notify) or not doc.get("document_html"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no document for notification {notification_id}")
    await notify.confidentiality.shown(user, [doc], "notification document")
    return HTMLResponse(doc["document_html"])


CHANGED = {"headers": etag.ETAG_HEADER, "description": "The message as it now is; `ETag` its version"}


@router.post(
    "/notifications/{notification_id}/retry",
    response_model=Message,
    responses={200: CHANGED},
    summary="Send a dead message again",
)
async def retry_notification(
    notification_id: str,
    user: CurrentUser,
    notify: NotifyDeps,
    response: Response,
    if_match: etag.IfMatch = None,
) -> dict[str, Any]:
    """Put a dead message back in the queue (an operator fixed the address or the gateway)."""

    async def attempt() -> dict[str, Any]:
        doc = await _message(notify, notification_id)
        etag.require(if_match, doc["version"])  # read again after a lost race: then stale
        if doc["status"] != "dead":
            raise HTTPException(status.HTTP_409_CONFLICT, f"notification is {doc['status']}, not dead")
        now = notify.clock.now()
        return await notify.messages.save(
            doc,
            {
                "status": "queued",
                "due_ts": int(now.timestamp() * 1000),
                "dead_reason": None,
                "last_error": f"sent again at the request of {user.subject}",
            },
        )

    saved = await retry_on_conflict(attempt)
    if notify.sender is not None:
        notify.sender.wake(saved["channel"])
    etag.send(response, saved["version"])
    return message_view(saved)


@router.get("/inbox", response_model=InboxPage, summary="The caller's inbox, newest first, a page at a time")
async def inbox(
    user: CurrentUser,
    notify: NotifyDeps,
    case_id: CaseId | None = None,
    unread: bool = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The caller's inbox (its unit's, its leader's, its role's, merged); with `case_id`, a
    petitioner's. `read` and `unread` are the caller's own: each person reading a shared inbox has
    their own. A message arriving meanwhile is on no later page (newest first): read from the top
    again to see it."""
    if case_id:
        await _may_read_petitioner_inbox(user, case_id, notify)
        owners = {f"petitioner:{case_id}"}
    else:
        owners = inbox_owners(user)
    try:
        found = await notify.messages.inboxes.page(
            sorted(owners), user.subject, unread_only=unread, limit=limit, cursor=cursor
        )
    except paging.BadCursor as exc:
        problem = [{"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem) from exc
    docs = found.items
    if case_id:  # a confidential reporter's inbox only to the portal and the named roles
        docs = [d for d in docs if _petitioner_inbox(user, bool(d.get("confidential")), notify)]
    await notify.confidentiality.shown(user, docs, "inbox")
    return {
        "owners": sorted(owners),
        "items": [message_view(d) for d in docs],
        "next_cursor": found.next_cursor,
    }


@router.post(
    "/inbox/{notification_id}/read",
    response_model=Message,
    responses={200: CHANGED},
    summary="Mark an inbox message read",
)
async def mark_read(
    notification_id: str,
    user: CurrentUser,
    notify: NotifyDeps,
    response: Response,
    if_match: etag.IfMatch = None,
) -> dict[str, Any]:
    """Mark one message of the caller's inbox read for the caller (once; later calls change nothing):
    in a unit's, a leader's or a role's inbox the others who read it still see it unread."""

    async def attempt() -> dict[str, Any]:
        doc = await _message(notify, notification_id)
        owner = doc.get("inbox_owner")
        allowed = owner in inbox_owners(user) or (
            str(owner).startswith("petitioner:")
            and _petitioner_inbox(user, bool(doc.get("confidential")), notify)
            and _may_see(user, doc, notify)
        )
        if doc["channel"] != "inbox" or not allowed:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {notification_id} in your inbox")
        etag.require(if_match, doc["version"])
        now = notify.clock.now()
        if not doc.get("read"):  # the message keeps its first reading (proof of receipt)
            doc = await notify.messages.save(doc, {"read": True, "read_at": now, "read_by": user.subject})
        if not per_reader(str(owner)):  # a petitioner's inbox: one reader, the message's own state
            return doc
        return await notify.messages.inboxes.mark(user.subject, doc, now)  # each reader's own state

    try:
        seen = await retry_on_conflict(attempt)
        etag.send(response, seen["version"])
        return message_view(seen)
    except VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the message changed meanwhile; try again") from exc


def resolvers(notify: Notify) -> dict[str, Resolver]:
    """What the caller's own scope reaches here: its messages (its role's, its unit's inbox)."""

    async def notification_id(value: str, user: Principal) -> bool:
        doc = await notify.messages.notifications.find_one(
            {"_id": value}, {"inbox_owner": 1, "recipient_key": 1, "confidential": 1, "submitted_by": 1}
        )
        return doc is not None and _may_see(user, doc, notify)

    return {"notification_id": notification_id}


def include(app: FastAPI) -> None:
    """Mount notify's routes."""
    from services.notify.entrypoints import documents, preferences, print_queue, streams

    app.include_router(router)
    app.include_router(documents.router)
    app.include_router(print_queue.router)
    app.include_router(preferences.router)
    app.include_router(templates.router)
    app.include_router(streams.router)
