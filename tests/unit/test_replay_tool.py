"""`make replay`'s arguments: the period's dates in the county's zone, and the candidate's files."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devtools.replay import RULES, candidate, instant, moves

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_date_is_midnight_in_the_county_and_an_instant_keeps_its_zone() -> None:
    assert instant("2026-03-01", SHANGHAI) == "2026-03-01T00:00:00+08:00"
    assert instant("2026-03-01T12:30:00Z", SHANGHAI) == "2026-03-01T12:30:00+00:00"
    assert instant("2026-03-01T12:30:00", SHANGHAI) == "2026-03-01T12:30:00+08:00"


def test_the_candidate_is_the_package_files_the_folder_has(tmp_path: Path) -> None:
    (tmp_path / "lexicon.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a package file", encoding="utf-8")
    assert candidate(tmp_path) == {"lexicon.json": "{}"}
    with pytest.raises(SystemExit):
        candidate(tmp_path / "empty")


def test_candidate_rules_are_the_screening_files_the_folder_has(tmp_path: Path) -> None:
    (tmp_path / "knowledge_base.json").write_text("{}", encoding="utf-8")
    (tmp_path / "lexicon.json").write_text("{}", encoding="utf-8")
    assert candidate(tmp_path, RULES.files) == {"knowledge_base.json": "{}"}


def test_what_moved_is_the_units_load_or_the_cases_by_outcome() -> None:
    units = {"units": [{"unit": "U1", "before": 3, "after": 1, "moved_in": 0, "moved_out": 2}]}
    assert moves(units) == ["  U1: 3 → 1 (+0 −2)"]
    outcomes = [{"before": "accepted", "after": "accepted", "cases": 5}]
    outcomes += [{"before": "accepted", "after": "manual", "cases": 2}]
    assert moves({"outcomes": outcomes}) == ["  accepted → manual: 2"]
