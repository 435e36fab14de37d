"""What notify's HTTP API answers: messages (recipients always masked), inboxes, templates."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from dispatch_common.paging import PageOf


class Message(BaseModel):
    """A message as answers show it: the recipient masked, never its contact or address. `ETag` on a
    single message: `version`, for If-Match on a retry or a read."""

    id: str
    case_id: str | None
    case_no: str | None
    kind: str
    level: str | None
    audience: str | None
    channel: str = Field(description="`sms`, `inbox`, `email`, `webhook` or `post` (the print queue)")
    recipient: str = Field(description="masked (e.g. `138****5678`, `unit:<code>`)")
    status: str = Field(description="`queued`, `sent`, `failed` or `dead`")
    attempts: int
    sent_at: datetime | None
    created_at: datetime | None
    next_attempt_at: datetime | None
    urgent: bool
    subject: str | None
    body: str | None
    has_document: bool = Field(description="a letter to print: GET /v1/notifications/{id}/document")
    channel_reason: str | None
    last_error: str | None
    dead_reason: str | None
    template_version: str | None
    language: str | None = Field(
        None, description="the language the text is in (the county's first: Chinese)"
    )
    language_fallback: bool = Field(
        False, description="the petitioner asked for a language without a template"
    )
    language_fallback_reason: str | None = None
    read: bool | None = Field(description="an inbox message: read by the caller (null on other channels)")
    read_at: datetime | None
    version: int = Field(description="the message's version: its ETag")


class Attempt(BaseModel):
    """One try to deliver a message."""

    notification_id: str
    n: int = Field(description="the try's number, from 1")
    at: datetime
    channel: str
    outcome: str = Field(description="`sent`, `retry` or `dead`")
    reason: str | None = None
    seconds: float | None = None
    next_due_ts: int | None = Field(None, description="when the next try is due, in ms since the epoch")


class MessageWithAttempts(Message):
    """A message and every try to deliver it, oldest first."""

    attempt_log: list[Attempt]


MessagePage = PageOf[Message]


class InboxPage(MessagePage):
    """A page of an inbox, newest first, and whose inboxes it merges."""

    owners: list[str] = Field(
        description="`role:<role>`, `unit:<code>`, `unit_leader:<code>` or `petitioner:<case>`"
    )


class TemplateKind(BaseModel):
    """A kind of notice: its title, the channels per audience, whether it is a letter, its sample."""

    title: str
    audiences: dict[str, list[str]]
    letter: str | None = Field(description="the letter template (告知书, 答复意见书...), if it is one")
    sample: dict[str, Any]


class TemplateCatalogue(BaseModel):
    """The templates in force (one file, read whole: a catalogue keyed by kind, not a list)."""

    version: str
    recipients_version: str
    kinds: dict[str, TemplateKind]


class TemplatePreview(BaseModel):
    """A notice as it would be sent."""

    kind: str
    audience: str
    channel: str
    version: str
    subject: str
    text: str
    segments: int | None = Field(description="SMS parts (null on other channels)")
    truncated: bool
    max_segments: int
    html: str | None


class TemplatesReload(BaseModel):
    """The templates and recipients now in force, here and in every replica."""

    version: str
    recipients_version: str
    replicas: list[dict[str, Any]]
