"""Notify's print queue: the letters of petitioners who chose post, their PDF, marked mailed."""

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from dispatch_common import etag, paging
from dispatch_common.paging import Cursor, Limit
from dispatch_common.store import retry_on_conflict
from services.notify.container import Notify
from services.notify.domain import lookup
from services.notify.domain.message import sent_event
from services.notify.entrypoints.deps import CurrentUser, NotifyDeps
from services.notify.entrypoints.document_schemas import Mailed, PrintItem, PrintPage
from services.notify.entrypoints.documents import PDF, issuing_of, pdf_answer, to_petitioner
from services.notify.entrypoints.letters import addressed, print_keys

router = APIRouter(prefix="/v1", tags=["documents"])


async def _print_item(notify: Notify, d: dict[str, Any]) -> dict[str, Any]:
    docs = await issuing_of(notify).archive.of_event(d.get("case_id") or "", d.get("cause_event_id") or "")
    return {
        "id": d["_id"],
        "case_id": d.get("case_id"),
        "case_no": d.get("case_no"),
        "kind": d["kind"],
        "subject": d.get("subject"),
        "recipient": d["recipient"],
        "print_status": d.get("print_status") or "to_print",
        "documents": [x["_id"] for x in docs],
        "pdf_path": f"/v1/print-queue/{d['_id']}/pdf",
        "created_at": d.get("created_at"),
        "mailed_at": d.get("mailed_at"),
        "mailed_by": d.get("mailed_by"),
        "version": d.get("version", 1),
    }


@router.get(
    "/print-queue",
    response_model=PrintPage,
    operation_id="listPrintQueue",
    summary="Letters to print and post, oldest first",
)
async def print_queue(
    user: CurrentUser,
    notify: NotifyDeps,
    state: Annotated[str, Query(alias="status", pattern="^(to_print|mailed)$")] = "to_print",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The notices of petitioners who chose post: print each (`pdf_path`), post it, mark it mailed."""
    found = await paging.page_or_422(
        notify.messages.notifications,
        {"print_status": state} | notify.confidentiality.list_filter(user),
        sort="created_ts",
        limit=limit,
        cursor=cursor,
    )
    return {"items": [await _print_item(notify, d) for d in found.items], "next_cursor": found.next_cursor}


async def _message(notify: Notify, notification_id: str, *, posted: bool) -> dict[str, Any]:
    """A message to print (any; `404` when there is none), or to mark mailed (`409` unless by post)."""
    doc = await notify.messages.get(notification_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {notification_id}")
    if posted and doc.get("channel") != "post":
        raise HTTPException(status.HTTP_409_CONFLICT, f"{notification_id} is not a letter by post")
    return doc


@router.get(
    "/print-queue/{notification_id}/pdf",
    operation_id="getPrintPdf",
    response_class=Response,
    responses=PDF,
    summary="A letter of the print queue as an A4 PDF",
)
async def print_pdf(notification_id: str, user: CurrentUser, notify: NotifyDeps) -> Response:
    """The formal document the notice's event made (e.g. the 答复意见书), else the notice's own letter,
    else its text as a letter (any notice may be printed; the queue lists those by post). A letter to the
    petitioner names them in full with their postal address, opened for this print and audited."""
    msg = await _message(notify, notification_id, posted=False)
    docs = await issuing_of(notify).archive.of_event(
        msg.get("case_id") or "", msg.get("cause_event_id") or ""
    )
    petitioner = msg.get("audience") == "petitioner"
    if petitioner:  # the event's document to the petitioner first (an event may make a unit's letter too)
        docs.sort(key=lambda d: not to_petitioner(notify, d))
    if docs:
        html, title = docs[0]["html"], docs[0]["title"]
    else:
        title = msg.get("subject") or ""
        lines = (msg.get("body") or "").splitlines()
        body = "".join(f"<p>{escape(line)}</p>" for line in lines if line.strip())
        html = msg.get("document_html") or f"<h1>{escape(title)}</h1>{body}"
    if msg.get("lookup_token"):  # the acceptance letter by post carries the lookup code, opened now
        settings = notify.settings
        html = lookup.printed(
            print_keys(notify),
            html,
            token=msg["lookup_token"],
            case_id=msg.get("case_id"),
            case_no=msg.get("case_no"),
            page_url=settings.progress_page_url,
        )
    if petitioner:
        what = f"print-queue {notification_id} pdf"
        html = await addressed(notify, user, html, case_id=msg.get("case_id"), what=what)
    return await pdf_answer(html, title=title, name=notification_id, fonts=notify.fonts)


@router.post(
    "/print-queue/{notification_id}/mailed",
    response_model=PrintItem,
    operation_id="markMailed",
    responses={200: {"headers": etag.ETAG_HEADER}},
    summary="Mark a letter of the print queue as posted",
)
async def mark_mailed(
    notification_id: str,
    user: CurrentUser,
    notify: NotifyDeps,
    tag: etag.Versioned,
    body: Mailed | None = None,
) -> dict[str, Any]:
    """The letter was posted: the notice is `sent` (and on the case's timeline); `409` if it was before."""

    async def attempt() -> dict[str, Any]:
        msg = await _message(notify, notification_id, posted=True)
        tag.require(msg["version"])
        if msg.get("print_status") == "mailed":
            raise HTTPException(status.HTTP_409_CONFLICT, "the letter was marked mailed before")
        now = notify.clock.now()
        changes = {
            "print_status": "mailed",
            "status": "sent",
            "sent_at": now,
            "attempts": 1,
            "mailed_at": now,
            "mailed_by": user.subject,
            "provider_ref": (body.reference if body else None),
        }
        return await notify.messages.save(msg, changes, [sent_event(msg | changes, now, notify.clock)])

    saved = await retry_on_conflict(attempt)
    notify.runtime.nudge()
    tag.send(saved["version"])
    return await _print_item(notify, saved)
