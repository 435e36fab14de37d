"""Notify's HTTP API for formal documents: a case's archived documents, each as HTML and as an A4 PDF,
the print queue of letters by post, and a petitioner's channel and language (changed by a clerk)."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse

from dispatch_common import etag, paging
from dispatch_common.auth import Principal
from dispatch_common.paging import Cursor, Limit
from dispatch_common.store import VersionConflict, retry_on_conflict
from services.notify.bootstrap import Notify
from services.notify.domain.message import sent_event
from services.notify.domain.pdf import render_pdf
from services.notify.entrypoints.deps import CurrentUser, NotifyDeps
from services.notify.entrypoints.document_schemas import (
    Document,
    DocumentPage,
    Mailed,
    Preferences,
    PreferencesView,
    PrintItem,
    PrintPage,
)

router = APIRouter(prefix="/v1", tags=["documents"])
PDF = {200: {"content": {"application/pdf": {}}, "description": "the document as an A4 PDF"}}


def document_view(d: dict[str, Any]) -> dict[str, Any]:
    """An archived document as answers show it (its letter at `html_path`, its PDF at `pdf_path`)."""
    keys = Document.model_fields.keys() - {"id", "html_path", "pdf_path"}
    return {k: d.get(k) for k in keys} | {
        "id": d["_id"],
        "html_path": f"/v1/documents/{d['_id']}/html",
        "pdf_path": f"/v1/documents/{d['_id']}/pdf",
    }


def _may_see(user: Principal, doc: dict[str, Any], notify: Notify) -> bool:
    """A confidential report's documents only to the roles that read every report."""
    return not doc.get("confidential") or notify.confidentiality.reads_every_report(user)


def _issuing(notify: Notify) -> Any:
    if notify.issuing is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "documents are not configured")
    return notify.issuing


async def _document(notify: Notify, user: Principal, document_id: str) -> dict[str, Any]:
    doc = await _issuing(notify).archive.get(document_id)
    if doc is None or not _may_see(user, doc, notify):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no document {document_id}")
    await notify.confidentiality.shown(user, [doc], "document")
    return doc


@router.get(
    "/cases/{case_id}/documents",
    response_model=DocumentPage,
    operation_id="list_case_documents",
    summary="The formal documents of a case, in the order they were issued",
)
async def list_documents(
    case_id: str, user: CurrentUser, notify: NotifyDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Every document archived with a case (告知书, 转送函, 交办函, 三函一约谈, 答复意见书, 复查/复核意见书),
    oldest first, a page at a time."""
    found = await paging.page_or_422(
        _issuing(notify).archive.documents,
        {"case_id": case_id},
        sort="created_ts",
        limit=limit,
        cursor=cursor,
        projection={"html": 0},
    )
    docs = [d for d in found.items if _may_see(user, d, notify)]
    await notify.confidentiality.shown(user, docs, "documents")
    return {"items": [document_view(d) for d in docs], "next_cursor": found.next_cursor}


@router.get(
    "/documents/{document_id}",
    response_model=Document,
    operation_id="get_document",
    responses={200: {"headers": etag.ETAG_HEADER}},
    summary="One archived document",
)
async def get_document(document_id: str, user: CurrentUser, notify: NotifyDeps, response: Response) -> Any:
    """An archived document; `ETag` its content hash (it never changes)."""
    doc = await _document(notify, user, document_id)
    etag.send(response, doc["content_hash"].removeprefix("sha256:")[:32])
    return document_view(doc)


@router.get(
    "/documents/{document_id}/html",
    operation_id="get_document_html",
    response_class=HTMLResponse,
    summary="An archived document as HTML, as it was rendered",
)
async def get_document_html(document_id: str, user: CurrentUser, notify: NotifyDeps) -> HTMLResponse:
    """The archived letter, byte for byte as hashed."""
    return HTMLResponse((await _document(notify, user, document_id))["html"])


@router.get(
    "/documents/{document_id}/pdf",
    operation_id="get_document_pdf",
    response_class=Response,
    responses=PDF,
    summary="An archived document as an A4 PDF (GB/T 9704 layout)",
)
async def get_document_pdf(document_id: str, user: CurrentUser, notify: NotifyDeps) -> Response:
    """The document laid out for A4 printing: margins, title, number, body, issuing organ and seal block.
    The same document gives the same bytes."""
    doc = await _document(notify, user, document_id)
    pdf = await asyncio.to_thread(render_pdf, doc["html"], title=doc["title"], subject=doc["number"])
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{document_id}.pdf"'},
    )


# --- the print queue: a petitioner who chose post ---


async def _print_item(notify: Notify, d: dict[str, Any]) -> dict[str, Any]:
    docs = await _issuing(notify).archive.of_event(d.get("case_id") or "", d.get("cause_event_id") or "")
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
    operation_id="list_print_queue",
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


async def _posted(notify: Notify, notification_id: str) -> dict[str, Any]:
    doc = await notify.messages.get(notification_id)
    if doc is None or doc.get("channel") != "post":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no letter {notification_id} in the print queue")
    return doc


@router.get(
    "/print-queue/{notification_id}/pdf",
    operation_id="get_print_pdf",
    response_class=Response,
    responses=PDF,
    summary="A letter of the print queue as an A4 PDF",
)
async def print_pdf(notification_id: str, user: CurrentUser, notify: NotifyDeps) -> Response:
    """The formal document the notice's event made (e.g. the 答复意见书), else the notice's own letter,
    else its text as a letter."""
    msg = await _posted(notify, notification_id)
    docs = await _issuing(notify).archive.of_event(msg.get("case_id") or "", msg.get("cause_event_id") or "")
    if docs:
        html, title = docs[0]["html"], docs[0]["title"]
    else:
        title = msg.get("subject") or ""
        body = "".join(f"<p>{line}</p>" for line in (msg.get("body") or "").splitlines() if line.strip())
        html = msg.get("document_html") or f"<h1>{title}</h1>{body}"
    pdf = await asyncio.to_thread(render_pdf, html, title=title)
    return Response(pdf, media_type="application/pdf")


@router.post(
    "/print-queue/{notification_id}/mailed",
    response_model=PrintItem,
    operation_id="mark_mailed",
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
        msg = await _posted(notify, notification_id)
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


# --- a petitioner's channel and language ---


def _preferences_view(notify: Notify, case_id: str, view: dict[str, Any]) -> dict[str, Any]:
    petitioner = view.get("petitioner") or {}
    prefs = view.get("preferences") or {}
    languages = list(notify.issuing.book.issuer.languages) if notify.issuing else ["zh"]
    return {
        "case_id": case_id,
        "notify_channel": prefs.get("notify_channel") or petitioner.get("notify_channel"),
        "language": prefs.get("language") or petitioner.get("language"),
        "languages": languages,
        "version": view.get("version", 0),
    }


@router.get(
    "/cases/{case_id}/preferences",
    response_model=PreferencesView,
    operation_id="get_case_preferences",
    responses={200: {"headers": etag.ETAG_HEADER}},
    summary="How the petitioner of a case is told: channel and language",
)
async def get_preferences(case_id: str, user: CurrentUser, notify: NotifyDeps, tag: etag.Versioned) -> Any:
    """The channel and language in force (a clerk's change over what intake said)."""
    view = await notify.messages.case(case_id)
    if not view:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    tag.send(view["version"])
    return _preferences_view(notify, case_id, view)


@router.put(
    "/cases/{case_id}/preferences",
    response_model=PreferencesView,
    operation_id="set_case_preferences",
    responses={200: {"headers": etag.ETAG_HEADER}},
    summary="Change how the petitioner of a case is told (a clerk, at the petitioner's request)",
)
async def set_preferences(
    case_id: str, body: Preferences, user: CurrentUser, notify: NotifyDeps, tag: etag.Versioned
) -> Any:
    """The later notices of the case go by this channel and in this language (a language the county
    does not list is refused: `422`). `If-Match` optional (`412` when the case's view changed)."""
    languages = notify.issuing.book.issuer.languages if notify.issuing else ["zh"]
    if body.language and body.language not in languages:
        problem = [
            {
                "loc": ["body", "language"],
                "msg": f"not a language of the county: {languages}",
                "type": "value_error",
            }
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)

    async def attempt() -> dict[str, Any]:
        view = await notify.messages.case(case_id)
        if not view:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
        tag.require(view["version"])
        prefs = body.model_dump() | {"changed_by": user.subject}
        state = {**view, "preferences": prefs, "version": view["version"] + 1}
        result = await notify.messages.cases.replace_one({"_id": case_id, "version": view["version"]}, state)
        if result.matched_count != 1:
            raise VersionConflict(f"case view {case_id} changed meanwhile")
        return state

    state = await retry_on_conflict(attempt)
    tag.send(state["version"])
    return _preferences_view(notify, case_id, state)
