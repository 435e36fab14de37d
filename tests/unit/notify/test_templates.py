"""The notice templates: every text of the book renders, the sandbox holds, a bad book is refused whole."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from dispatch_common.paths import DATA_DIR
from services.notify.domain import templates as templates_module
from services.notify.domain.delivery import sms_segments
from services.notify.domain.templates import TemplateProblem, Templates, load_book

BOOK = DATA_DIR / "notify" / "templates.json"
CONTRACT_KINDS = {
    "acceptance",
    "refusal",
    "assignment",
    "reply",
    "followup",
    "deadline_warning",
    "overdue",
    "escalation",
}
FORMAL = {"acceptance", "refusal", "redirect", "reply", "escalation"}


@pytest.fixture
def book_dir(tmp_path: Path) -> Path:
    shutil.copytree(DATA_DIR / "notify", tmp_path / "notify")
    return tmp_path / "notify"


def edit(folder: Path, change) -> None:
    path = folder / "templates.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")


def test_every_kind_audience_and_channel_renders_its_sample_and_sms_fit_their_parts():
    templates = Templates(BOOK)
    kinds = templates.kinds()
    assert kinds.keys() >= CONTRACT_KINDS
    for kind, spec in kinds.items():
        for audience, channels in spec["audiences"].items():
            for channel in [*channels, "webhook"]:
                rendered = templates.compose(kind, audience, channel, spec["sample"])
                assert rendered.text and rendered.subject and rendered.version == templates.version
                if channel == "sms":
                    assert sms_segments(rendered.text) <= templates.max_segments and not rendered.truncated
    for kind in FORMAL:
        audience = "unit" if kind == "escalation" else "petitioner"
        html = templates.compose(kind, audience, "inbox", templates.sample(kind)).html
        assert html and html.startswith("<!doctype html>") and templates.sample(kind)["case_no"] in html


def test_letters_escape_what_they_are_given_and_texts_do_not():
    templates = Templates(BOOK)
    values = templates.sample("refusal") | {"reason": "<script>alert(1)</script>"}
    rendered = templates.compose("refusal", "petitioner", "inbox", values)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<script>" in rendered.text  # plain text goes out as text, never as markup


def test_the_sandbox_refuses_reaching_into_python(book_dir: Path):
    edit(
        book_dir,
        lambda raw: raw["kinds"]["acceptance"]["audiences"]["petitioner"].update(
            inbox="{{ case_no.__class__.__mro__[1].__subclasses__() }}"
        ),
    )
    with pytest.raises(TemplateProblem, match=r"acceptance\.petitioner"):
        load_book(book_dir / "templates.json", max_segments=3)


def test_a_book_with_an_unknown_variable_an_overlong_sms_or_no_inbox_text_is_refused_with_every_problem(
    book_dir: Path,
):
    def break_it(raw):
        raw["kinds"]["acceptance"]["audiences"]["petitioner"]["sms"] = "{{ phone_number }}"
        raw["kinds"]["refusal"]["audiences"]["petitioner"]["sms"] = "很长" * 120
        del raw["kinds"]["reply"]["audiences"]["petitioner"]["inbox"]

    edit(book_dir, break_it)
    with pytest.raises(TemplateProblem) as err:
        load_book(book_dir / "templates.json", max_segments=3)
    problems = " | ".join(err.value.problems)
    assert "phone_number" in problems and "SMS parts" in problems and "reply.petitioner" in problems


def test_a_changed_file_is_picked_up_without_a_restart_and_a_broken_one_leaves_the_old_in_force(
    book_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(templates_module, "RELOAD_CHECK_SECONDS", 0.0)
    templates = Templates(book_dir / "templates.json")
    before = templates.version
    edit(
        book_dir,
        lambda raw: raw["kinds"]["acceptance"]["audiences"]["petitioner"].update(inbox="新{{ case_no }}"),
    )
    bump(book_dir / "templates.json")
    assert templates.render("acceptance", "inbox", case_no="N-1", county_name="X") == "新N-1"
    after = templates.version
    assert after != before
    edit(book_dir, lambda raw: raw["kinds"]["acceptance"]["audiences"]["petitioner"].update(inbox="{{ x }}"))
    bump(book_dir / "templates.json")
    assert templates.render("acceptance", "inbox", case_no="N-1", county_name="X") == "新N-1"
    assert templates.version == after and templates.last_problem is not None
    # a letter beside the book counts as part of it
    letter = book_dir / "letters" / "acceptance.html"
    letter.write_text(letter.read_text(encoding="utf-8").replace("特此告知", "此致"), encoding="utf-8")
    edit(
        book_dir,
        lambda raw: raw["kinds"]["acceptance"]["audiences"]["petitioner"].update(inbox="新{{ case_no }}"),
    )
    bump(book_dir / "templates.json")
    bump(letter)
    assert (
        "此致" in templates.compose("acceptance", "petitioner", "inbox", templates.sample("acceptance")).html
    )


def bump(path: Path) -> None:
    """Move a file's modification time forward (two writes may share one timestamp)."""
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))
