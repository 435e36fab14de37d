"""The petitioner's progress, without an account (扫码查询进度): the public API and its phone page.

`POST /v1/public/progress` (and `/rating`, `/review`) take the case number and lookup code in the
body, never in the URL, so that neither lands in a proxy's or server's access log; the page
(`/progress/`, files in services/supervision/progress_page) reads them from the URL's fragment, which
browsers never send. No bearer token: the authorization table marks these `public`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from dispatch_common import store
from dispatch_common.problems import Problem
from dispatch_common.ratelimit import retry_after
from services.supervision import commands
from services.supervision import progress as desk
from services.supervision.domain.lifecycle import NotAllowed
from services.supervision.entrypoints.deps import SupervisionDeps

PAGE_DIR = Path(__file__).resolve().parent.parent / "progress_page"
NOT_OPENED = "no case opens with this case number and lookup code"
NOT_OPENED_ZH = "案件编号或查询码不正确，或查询码已失效。请核对受理短信，或联系受理窗口重新获取查询码。"

router = APIRouter(
    prefix="/v1/public",
    tags=["petitioner progress"],
    responses={
        404: {"description": "unknown case number, wrong or revoked code: one answer for all three"},
        429: {
            "description": "too many lookups from this client or for this case: wait `Retry-After` seconds"
        },
    },
)


class Opening(BaseModel):
    """What opens a case's progress: its number and lookup code (`ABCD-EFGH`, case and dashes free)."""

    model_config = ConfigDict(extra="forbid")

    case_no: str = Field(min_length=1, max_length=32, description="the case number, e.g. 990102-2026-000123")
    code: str = Field(min_length=1, max_length=32, description="the lookup code of the acceptance notice")


class Rating(Opening):
    rating: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    note: str | None = Field(None, max_length=500)
    reopen: bool = Field(
        False, description="不满意 and the petitioner asks for the matter to be handled again"
    )


class ReviewRequest(Opening):
    reason: str = Field(
        min_length=2, max_length=2000, description="why the petitioner asks for 复查 (or 复核)"
    )


class TimeLimit(BaseModel):
    due_at: datetime
    met_at: datetime | None = None
    extended_days: int = 0


class SentNotice(BaseModel):
    kind: str | None
    title: str
    channel: str | None
    sent_at: datetime


class Answer(BaseModel):
    kind: Literal["reply", "review_answer"]
    title: str
    result: str | None
    text: str
    at: datetime | None


class GivenRating(BaseModel):
    rating: str
    label: str
    at: datetime


class PetitionerProgress(BaseModel):
    """A case as its petitioner may see it: nothing of other people, no internal note or working step."""

    case_no: str
    status: str
    status_text: str = Field(description="the state in Chinese words")
    received_at: datetime | None
    unit_name: str | None = Field(description="the unit handling the case (its name, never its people)")
    time_limit: TimeLimit | None = Field(description="the handling limit (办理期限)")
    notices: list[SentNotice] = Field(description="the notices sent to the petitioner, oldest first")
    answers: list[Answer] = Field(description="the answer (答复意见书) and any review answers")
    rating: GivenRating | None
    can_rate: bool
    can_request_review: bool
    review_stage: Literal["review", "re_review"] | None
    review_until: datetime | None


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except desk.NotOpened as exc:
        raise Problem(
            status.HTTP_404_NOT_FOUND, NOT_OPENED, code="lookup_failed", detail_zh=NOT_OPENED_ZH
        ) from exc
    except desk.Limited as exc:
        seconds = retry_after(exc.seconds)
        raise Problem(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many lookups; retry after {seconds} s",
            detail_zh=f"查询过于频繁，请 {seconds} 秒后再试",
            headers={"Retry-After": seconds},
        ) from exc
    except (NotAllowed, commands.CaseNotFound) as exc:
        raise Problem(status.HTTP_409_CONFLICT, str(exc), detail_zh="当前状态或期限不允许此操作") from exc
    except store.VersionConflict as exc:
        raise Problem(
            status.HTTP_409_CONFLICT,
            "the case changed meanwhile; try again",
            detail_zh="案件刚有变化，请重试",
        ) from exc


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _opened(sv: Any, body: Opening, request: Request) -> dict[str, Any]:
    with _answers():
        return await desk.opened(sv, body.case_no.strip(), body.code, _client(request))


@router.post(
    "/progress",
    summary="A case's progress, opened by its number and lookup code",
)
async def open_progress(body: Opening, request: Request, sv: SupervisionDeps) -> PetitionerProgress:
    """Counted per client and per case number; an unknown number, a wrong code and a revoked one are
    answered alike (404)."""
    doc = await _opened(sv, body, request)
    return PetitionerProgress.model_validate(await desk.view(sv, doc))


@router.post("/progress/rating", summary="The petitioner rates the answer (评价)")
async def rate_progress_answer(body: Rating, request: Request, sv: SupervisionDeps) -> PetitionerProgress:
    """The follow-up's rating (回访评价), given by the petitioner: allowed once the case is answered."""
    doc = await _opened(sv, body, request)
    with _answers():
        saved = await desk.act(sv, doc, "followup", body.note, {"rating": body.rating, "reopen": body.reopen})
    return PetitionerProgress.model_validate(await desk.view(sv, saved))


@router.post(
    "/progress/review",
    summary="The petitioner asks for 复查 (or 复核)",
)
async def request_progress_review(
    body: ReviewRequest, request: Request, sv: SupervisionDeps
) -> PetitionerProgress:
    """复查 within the time the policy allows after the answer; 复核 after a 复查 answer."""
    doc = await _opened(sv, body, request)
    with _answers():
        action = "re_review" if doc.get("status") == "review_answered" else "review"
        saved = await desk.act(sv, doc, action, body.reason, {})
    return PetitionerProgress.model_validate(await desk.view(sv, saved))


def include(app: FastAPI) -> None:
    """The public routes and the page."""
    app.include_router(router)
    app.mount("/progress", StaticFiles(directory=PAGE_DIR, html=True), name="progress-page")
