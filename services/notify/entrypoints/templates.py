"""Notify's HTTP API for templates: the kinds in force, a preview with sample data, and a reload."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, status
from jinja2 import TemplateError
from pydantic import BaseModel, ConfigDict, Field

from services.notify.domain.recipients import DirectoryProblem
from services.notify.domain.templates import TemplateProblem
from services.notify.entrypoints.deps import CurrentUser, NotifyDeps
from services.notify.entrypoints.schemas import TemplateCatalogue, TemplatePreview, TemplatesReload

router = APIRouter(prefix="/v1", tags=["templates"])


@router.get(
    "/templates",
    response_model=TemplateCatalogue,
    summary="The kinds of notice, their audiences and channels",
)
async def list_templates(user: CurrentUser, notify: NotifyDeps) -> dict[str, Any]:
    """The templates in force, with their version and sample values: one catalogue keyed by kind, read
    whole (its size is the templates file's, not the data's), so it is not paged."""
    return {
        "version": notify.templates.version,
        "recipients_version": notify.directory.version,
        "kinds": notify.templates.kinds(),
    }


class Preview(BaseModel):
    """What to preview: the audience, the channel, and values over the kind's sample."""

    model_config = ConfigDict(extra="forbid")

    audience: str = Field("petitioner", max_length=32)
    channel: str = Field("sms", pattern="^(sms|inbox|email|webhook)$")
    values: dict[str, Any] = {}


@router.post(
    "/templates/{kind}/preview", response_model=TemplatePreview, summary="Render a notice with sample data"
)
async def preview(
    kind: str, user: CurrentUser, notify: NotifyDeps, body: Annotated[Preview | None, Body()] = None
) -> dict[str, Any]:
    """A notice as it would be sent: subject, text, SMS parts, and the letter for formal notices."""
    body = body or Preview()
    templates = notify.templates
    try:
        sample = templates.sample(kind)
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no kind of notice {kind!r}") from exc
    if not templates.has(kind, body.audience):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"kind {kind!r} has no texts for {body.audience!r}")
    try:
        rendered = templates.compose(kind, body.audience, body.channel, sample | body.values)
    except (TemplateError, TypeError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{type(exc).__name__}: {exc}") from exc
    return {
        "kind": kind,
        "audience": body.audience,
        "channel": body.channel,
        "version": rendered.version,
        "subject": rendered.subject,
        "text": rendered.text,
        "segments": rendered.segments,
        "truncated": rendered.truncated,
        "max_segments": templates.max_segments,
        "html": rendered.html,
    }


@router.post(
    "/admin/templates/reload", response_model=TemplatesReload, summary="Load changed templates and recipients"
)
async def reload(user: CurrentUser, notify: NotifyDeps) -> dict[str, Any]:
    """Load the templates and recipients files again (a change is also seen within a second), here and
    in every other replica (`replicas`)."""
    try:
        here = await notify.reload_files()
    except TemplateProblem as exc:
        detail = {"msg": "templates not reloaded; the previous ones stay in force", "problems": exc.problems}
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from exc
    except (DirectoryProblem, ValueError, OSError) as exc:
        detail = {"msg": "recipients not reloaded; the previous ones stay in force", "problems": [str(exc)]}
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from exc
    assert notify.reloads is not None
    return {**here, "replicas": await notify.reloads.everywhere(here, requested_by=user.subject)}
