"""The parts of an answer (答复): what the lead unit gave and what stands in for what it did not. Pure.

The 答复意见书 notify issues names the petitioner, restates the matter, sets out the facts found, the
opinion and its legal or policy basis. The answer command carries the opinion (`text`) and the result;
`matter`, `facts` and `basis` are optional: a missing one is replaced by a sentence that says it was
not given (the matter by the case's own masked text, where supervision has it), so the document
never reads as if it had been stated.
"""

import html
from datetime import datetime
from typing import Any

from services.supervision.domain.lifecycle import REPLY_RESULTS

MATTER_MAX = 500
NO_MATTER = "（答复未载明反映事项，详见受理登记。）"
NO_FACTS = "（承办单位未另行载明查明的事实。）"
NO_BASIS = "（承办单位未载明所依据的法律、政策规定。）"


def reply_parts(doc: dict[str, Any], details: dict[str, Any]) -> dict[str, str]:
    """The matter, facts and basis of an answer: as given, or a sentence saying they were not."""
    matter = (details.get("matter") or "").strip()
    if not matter:
        text = (doc.get("search_text") or "").strip()  # the case text as intake masked it
        matter = text[:MATTER_MAX] if text and not doc.get("confidential") else NO_MATTER
    return {
        "matter": matter,
        "facts": (details.get("facts") or "").strip() or NO_FACTS,
        "basis": (details.get("basis") or "").strip() or NO_BASIS,
    }


def reply_document(doc: dict[str, Any], result: str, text: str, unit: dict[str, Any], at: datetime) -> str:
    """The reply as a self-contained HTML page kept on the case file (the numbered, archived 答复意见书
    with the petitioner's name is notify's document); the petitioner's identity is not in it."""
    esc = html.escape
    parts = doc.get("reply_parts") or {}
    sections = "".join(
        f"<h2>{esc(head)}</h2><p>{esc(parts[key])}</p>"
        for head, key in (("反映事项", "matter"), ("查明事实", "facts"), ("依据", "basis"))
        if parts.get(key)
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>答复意见书 {esc(doc['case_no'])}</title></head><body>"
        "<h1>答复意见书</h1>"
        f"<p>编号：{esc(doc['case_no'])}</p>"
        f"<p>承办单位：{esc(unit.get('name', ''))}</p>"
        f"{sections}"
        f"<p>办理结果：{esc(REPLY_RESULTS[result])}</p>"
        f"<div>{'<br>'.join(esc(line) for line in text.splitlines())}</div>"
        "<p>如对本答复意见不服，可自收到本答复意见书之日起30日内向原办理机关的上一级机关请求复查。</p>"
        f"<p>{at.date().isoformat()}</p></body></html>"
    )
