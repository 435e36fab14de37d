"""Notify's HTTP API for formal documents: a case's archived documents, each as HTML and as an A4 PDF
(the print queue: print_queue.py; a petitioner's channel and language: preferences.py)."""

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.responses import HTMLResponse

from dispatch_common import etag, paging
from dispatch_common.auth import Principal
from dispatch_common.paging import Cursor, Limit
from services.notify.container import Notify
from services.notify.domain.pdf import BUILT_IN, Fonts, render_pdf
from services.notify.entrypoints.deps import CurrentUser, NotifyDeps
from services.notify.entrypoints.document_schemas import (
    Document,
    DocumentPage,
)
from services.notify.entrypoints.letters import addressed

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


def issuing_of(notify: Notify) -> Any:
    if notify.issuing is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "documents are not configured")
    return notify.issuing


async def _document(notify: Notify, user: Principal, document_id: str) -> dict[str, Any]:
    doc = await issuing_of(notify).archive.get(document_id)
    if doc is None or not _may_see(user, doc, notify):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no document {document_id}")
    await notify.confidentiality.shown(user, [doc], "document")
    return doc


@router.get(
    "/cases/{case_id}/documents",
    response_model=DocumentPage,
    operation_id="listCaseDocuments",
    summary="The formal documents of a case, in the order they were issued",
)
async def list_documents(
    case_id: str, user: CurrentUser, notify: NotifyDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Every document archived with a case (告知书, 转送函, 交办函, 三函一约谈, 答复意见书, 复查/复核意见书),
    oldest first, a page at a time."""
    found = await paging.page_or_422(
        issuing_of(notify).archive.documents,
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
    operation_id="getArchivedDocument",
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
    operation_id="getDocumentHtml",
    response_class=HTMLResponse,
    summary="An archived document as HTML, as it was rendered",
)
async def get_document_html(document_id: str, user: CurrentUser, notify: NotifyDeps) -> HTMLResponse:
    """The archived letter, byte for byte as hashed."""
    return HTMLResponse((await _document(notify, user, document_id))["html"])


@router.get(
    "/documents/{document_id}/pdf",
    operation_id="getDocumentPdf",
    response_class=Response,
    responses=PDF,
    summary="An archived document as an A4 PDF (GB/T 9704 layout)",
)
async def get_document_pdf(document_id: str, user: CurrentUser, notify: NotifyDeps) -> Response:
    """The document laid out for A4 printing: margins, title, number, body, issuing organ and seal block.
    A document to the petitioner names them in full with their postal address (opened for this print,
    audited); the archived document keeps the masked name. The same document gives the same bytes."""
    doc = await _document(notify, user, document_id)
    html = doc["html"]
    if to_petitioner(notify, doc):
        what = f"document {document_id} pdf"
        html = await addressed(notify, user, html, case_id=doc.get("case_id"), what=what)
    title, number = doc["title"], doc["number"]
    return await pdf_answer(html, title=title, subject=number, name=document_id, fonts=notify.fonts)


def to_petitioner(notify: Notify, doc: dict[str, Any]) -> bool:
    """Whether an archived document is addressed to the petitioner (its type says; a type no longer in
    force: whether it named a petitioner)."""
    dtype = issuing_of(notify).book.types.get(doc.get("type") or "")
    return dtype.to == "petitioner" if dtype is not None else bool(doc.get("petitioner_name"))


async def pdf_answer(
    html: str, *, title: str, name: str, subject: str = "", fonts: Fonts = BUILT_IN
) -> Response:
    """A letter as a PDF answer, laid out off the event loop (reportlab is CPU work)."""
    pdf = await asyncio.to_thread(render_pdf, html, title=title, subject=subject, fonts=fonts)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}.pdf"'}
    )
