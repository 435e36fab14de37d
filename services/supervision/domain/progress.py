"""What a petitioner sees of their case with its number and lookup code (扫码查询进度). Pure.

Only what the petitioner was told or may be told: the case's state in words, the unit handling it (its
name, never its people), the handling limit, the notices sent to the petitioner (what and when), the
answer (答复意见书) and review answers, the rating given, and which of their own actions the state and
the time allow now (rate the answer, ask for 复查 or 复核). No internal note, no unit's working step, no
other person's data.
"""

from datetime import datetime
from typing import Any

from dispatch_common import subjects
from services.supervision.domain.lifecycle import ACTIONS, RATINGS, REPLY_RESULTS

STATUS_WORDS = {
    "registered": "已登记",
    "screening": "审查中",
    "accepted": "已受理",
    "not_accepted": "不予受理",
    "redirected": "已引导至其他途径",
    "transferred": "已转送有权处理机关",
    "answered": "已解答",
    "manual_dispatch": "已受理，正在交办",
    "route_disputed": "已受理，正在交办",
    "assigned": "已交办承办单位",
    "signed": "承办单位已签收",
    "in_progress": "办理中",
    "extended": "延期办理中",
    "in_mediation": "调解中",
    "reopened": "重新办理中",
    "replied": "已答复",
    "followed_up": "已回访",
    "review": "复查中",
    "review_answered": "复查已答复",
    "re_review": "复核中",
    "closed": "已办结",
}
NOTICE_WORDS = {
    "acceptance": "受理告知书",
    "refusal": "不予受理告知书",
    "redirect": "依法分类处理告知书",
    "transfer": "转送告知",
    "answer": "咨询答复",
    "assignment": "交办告知",
    "progress": "办理进展告知",
    "extension": "延期办理告知",
    "reply": "答复意见书",
    "followup": "回访评价邀请",
    "review_answer": "复查（复核）意见告知",
    "closure": "结案告知",
    "mediation": "人民调解邀请",
    "mediation_session": "调解会议通知",
    "mediation_outcome": "调解结果告知",
    "mediation_fulfilment": "调解协议履行回访",
    "referral_made": "转介告知",
    "referral_accepted": "转介受理告知",
    "referral_closed": "转介办结告知",
}
CHANNEL_WORDS = {"sms": "短信", "email": "电子邮件", "inbox": "站内信", "webhook": "系统推送"}
# The petitioner's own actions here, and the deadline that bounds each (deadlines.json).
OWN_ACTIONS = {"followup": None, "review": "review_request", "re_review": "re_review_request"}


def _deadline(doc: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((d for d in doc.get("deadlines") or [] if d["kind"] == kind), None)


def may(doc: dict[str, Any], action: str, now: datetime) -> tuple[bool, datetime | None]:
    """Whether the petitioner may take one of their actions now, and until when."""
    if doc.get("status") not in ACTIONS[action].allowed_from:
        return False, None
    kind = OWN_ACTIONS[action]
    if kind is None:
        return True, None
    limit = _deadline(doc, kind)
    if limit is None or limit.get("met_at") is not None:
        return limit is None, None
    return limit["due_at"] > now, limit["due_at"]


def _answers(doc: dict[str, Any], timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    reply = doc.get("reply")
    if reply:
        out.append(
            {
                "kind": "reply",
                "title": "答复意见书",
                "result": REPLY_RESULTS.get(reply.get("result"), reply.get("result")),
                "text": reply.get("text") or "",
                "at": reply.get("at"),
            }
        )
    for entry in timeline:
        if entry["type"] == subjects.CASE_REVIEW_ANSWERED:
            summary = entry.get("summary") or {}
            stage = summary.get("stage") or "复查"
            text = summary.get("note") or summary.get("reason") or ""
            out.append(
                {
                    "kind": "review_answer",
                    "title": f"{stage}意见",
                    "result": None,
                    "text": text,
                    "at": entry["time"],
                }
            )
    return out


def _notices(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "kind": summary.get("kind"),
            "title": NOTICE_WORDS.get(summary.get("kind") or "", "通知"),
            "channel": CHANNEL_WORDS.get(summary.get("channel") or "", summary.get("channel")),
            "sent_at": entry["time"],
        }
        for entry in timeline
        if entry["type"] == subjects.NOTIFICATION_SENT
        and (summary := entry.get("summary") or {}).get("audience") == "petitioner"
    ]


def view(doc: dict[str, Any], timeline: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The petitioner's view of a case file and its timeline."""
    status = doc.get("status") or "registered"
    handling = _deadline(doc, "handling")
    rating = doc.get("rating")
    can_rate, _ = may(doc, "followup", now)
    can_review, review_until = may(doc, "review", now)
    can_re_review, re_review_until = may(doc, "re_review", now)
    unit = doc.get("lead_unit") or {}
    return {
        "case_no": doc["case_no"],
        "status": status,
        "status_text": STATUS_WORDS.get(status, "办理中"),
        "received_at": doc.get("received_at"),
        "unit_name": unit.get("name"),
        "time_limit": None
        if handling is None
        else {
            "due_at": handling["due_at"],
            "met_at": handling.get("met_at"),
            "extended_days": handling.get("extended_days", 0),
        },
        "notices": _notices(timeline),
        "answers": _answers(doc, timeline),
        "rating": None
        if not rating
        else {"rating": rating["rating"], "label": RATINGS[rating["rating"]], "at": rating["at"]},
        "can_rate": can_rate,
        "can_request_review": can_review or can_re_review,
        "review_stage": "re_review" if can_re_review else "review" if can_review else None,
        "review_until": re_review_until if can_re_review else review_until,
    }
