"""What notify's document, print-queue and preference operations answer."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.paging import PageOf


class Document(BaseModel):
    """An archived formal document (规范文书): immutable, with the versions it was made with and a
    hash of its content. The PDF: `pdf_path`; the letter as HTML: `html_path`."""

    id: str
    case_id: str | None
    case_no: str | None
    type: str = Field(description="the document type of data/notify/documents.json, e.g. `reply_opinion`")
    title: str = Field(description="e.g. 答复意见书, 督办函")
    number: str = Field(description="the document number (文号), e.g. 示信复〔2026〕7号")
    year: int
    seq: int = Field(description="its place in the type's sequence for the year")
    level: str | None = Field(description="the escalation rung of a 三函一约谈 letter")
    petitioner_name: str = Field(
        description="the petitioner as the archived document names them (masked; its PDF names them "
        "in full); empty: none"
    )
    content_hash: str = Field(description="sha256 of the archived letter")
    template_version: str
    documents_version: str
    language: str
    language_requested: str | None
    language_fallback: bool
    language_fallback_reason: str | None = None
    created_at: datetime
    html_path: str
    pdf_path: str


DocumentPage = PageOf[Document]


class PrintItem(BaseModel):
    """A letter to post: a petitioner's notice by post, its PDF, and whether it was mailed."""

    id: str = Field(description="the message's id (GET /v1/notifications/{id})")
    case_id: str | None
    case_no: str | None
    kind: str
    subject: str | None
    recipient: str = Field(
        description="the petitioner, masked: the PDF names them in full with the postal address (audited)"
    )
    print_status: Literal["to_print", "mailed"]
    documents: list[str] = Field(description="ids of the documents the same event made (printed with it)")
    pdf_path: str
    created_at: datetime | None
    mailed_at: datetime | None = None
    mailed_by: str | None = None
    version: int = Field(description="the message's version: its ETag")


PrintPage = PageOf[PrintItem]


class Mailed(BaseModel):
    """A letter posted: the post's reference (a registered-mail number), if any."""

    model_config = ConfigDict(extra="forbid")

    reference: str | None = Field(None, max_length=64)


class Preferences(BaseModel):
    """How a petitioner of a case is told: channel and language (a clerk changes what intake said)."""

    model_config = ConfigDict(extra="forbid")

    notify_channel: Literal["sms", "email", "inbox", "post"] | None = None
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class PreferencesView(Preferences):
    """A case's petitioner preferences as in force, with the languages the county supports."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    languages: list[str] = Field(description="the county's languages; the first is every template's own")
    version: int = Field(description="notify's view of the case: its ETag")
