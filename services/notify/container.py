"""Notify's container: everything its handlers and entrypoints need, built once per
process by bootstrap.py (which imports the entrypoints; they import this, never bootstrap)."""

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import httpx

from dispatch_common.clock import Clock
from dispatch_common.confidential import Confidentiality, ReadAudit
from dispatch_common.live import Hub
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.systems import ExternalSystem
from services.notify.adapters.channels import ChannelAdapter
from services.notify.adapters.repository import Messages
from services.notify.config import NotifySettings
from services.notify.documents import Issuing
from services.notify.domain.delivery import QuietHours
from services.notify.domain.pdf import Fonts
from services.notify.domain.recipients import Directory
from services.notify.domain.templates import Templates
from services.notify.sender import Sender


@dataclass
class Notify:
    """Everything notify's handlers, sender and routes need."""

    runtime: Runtime
    settings: NotifySettings
    messages: Messages
    templates: Templates
    directory: Directory
    clock: Clock
    timezone: ZoneInfo
    quiet: QuietHours | None
    county_name: str
    confidentiality: Confidentiality
    systems: tuple[ExternalSystem, ...] = ()
    sender: Sender | None = None
    http: httpx.AsyncClient | None = None
    adapters: dict[str, ChannelAdapter] = field(default_factory=dict)
    reloads: Reloads | None = None
    live: Hub | None = None  # the replica's reader of inbox deliveries for the inbox stream
    issuing: "Issuing | None" = (
        None  # formal documents: types, letters, archive (services/notify/documents.py)
    )
    fonts: Fonts = field(default_factory=Fonts)  # the fonts printed letters are set in (domain/pdf.py)
    clear_prints: ReadAudit | None = None  # every letter printed with the petitioner's clear name

    async def reload_files(self) -> dict[str, str]:
        """Read the templates and recipients again (raises TemplateProblem or DirectoryProblem)."""
        return {"version": self.templates.reload(), "recipients_version": self.directory.reload()}
