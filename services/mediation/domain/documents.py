"""Documents made from templates: the agreement (调解协议书) and the referral letter (转介函).

Templates are Jinja2 files in `MEDIATION_TEMPLATES_DIR`, rendered in an immutable sandbox with
autoescaping (values typed by people cannot inject markup) and strict undefined variables. Each
template is rendered once with sample values at load, so a template naming a variable the service
does not provide is refused when the service starts, not when a mediator concludes a mediation.
"""

from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

DOCUMENTS = {"agreement": "agreement.html.j2", "referral_letter": "referral_letter.html.j2"}
PARTY_ROLES = {"applicant": "申请人", "respondent": "被申请人"}

_SAMPLES: dict[str, dict[str, Any]] = {
    "agreement": {
        "type": "people",
        "agreement_no": "990102-2026-000001-M1",
        "case_no": "990102-2026-000001",
        "parties": [
            {"role": "applicant", "role_label": "申请人", "name": "甲"},
            {"role": "respondent", "role_label": "被申请人", "name": "乙"},
        ],
        "facts": "样例",
        "terms": ["样例条款"],
        "fulfilment_method": "一次性支付",
        "fulfilment_due": "2026年1月1日",
        "copies": 3,
        "organization": {"code": "O", "name": "样例人民调解委员会", "type": "people"},
        "mediator": {"id": "M", "name": "样例"},
        "signed_date": "2026年1月1日",
        "county_name": "示例县",
    },
    "referral_letter": {
        "referral_no": "R-1",
        "case_no": "990102-2026-000001",
        "kind": "legal_aid",
        "kind_label": "法律援助",
        "receiving_unit": {"code": "U", "name": "样例中心", "type": "legal_aid_center"},
        "from_name": "样例人民调解委员会",
        "reason": "样例",
        "risk_level_label": "",
        "matter_label": "",
        "county_name": "示例县",
        "date": "2026年1月1日",
    },
}


class DocumentError(ValueError):
    """A template that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("mediation document templates:\n  " + "\n  ".join(problems))


class Documents:
    """The document templates of one folder, checked at load."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(folder)), autoescape=True, undefined=StrictUndefined
        )
        problems = []
        for name, file in DOCUMENTS.items():
            try:
                self.render(name, _SAMPLES[name])
            except (TemplateError, OSError) as exc:
                problems.append(f"{folder / file}: {type(exc).__name__}: {exc}")
        if problems:
            raise DocumentError(problems)

    def render(self, name: str, values: dict[str, Any]) -> str:
        """One document as a self-contained HTML page."""
        return self._env.get_template(DOCUMENTS[name]).render(**values)


def cn_date(day: Any) -> str:
    """A date as Chinese documents write it: 2026年3月2日."""
    return f"{day.year}年{day.month}月{day.day}日"
