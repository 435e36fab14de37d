"""A petitioner's channel and language for a case: read, and changed by a clerk at their request."""

from typing import Any

from fastapi import APIRouter, HTTPException, status

from dispatch_common import etag
from dispatch_common.store import retry_on_conflict
from services.notify.container import Notify
from services.notify.entrypoints.deps import CurrentUser, NotifyDeps
from services.notify.entrypoints.document_schemas import Preferences, PreferencesView

router = APIRouter(prefix="/v1", tags=["documents"])


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
    operation_id="getCasePreferences",
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
    operation_id="setCasePreferences",
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
        return await notify.messages.replace_view(view, {"preferences": prefs})

    state = await retry_on_conflict(attempt)
    tag.send(state["version"])
    return _preferences_view(notify, case_id, state)
