"""Realistic cases for the end-to-end load: the demo county's labelled cases, with repeats and incidents.

Every generated case starts from a labelled case of the county (the package's `sample_cases.jsonl`
and the development set `tests/data/routing_dev_cases.jsonl`, 649 cases), drawn uniformly, so the
channels and what routing makes of them (the share that goes to manual dispatch, to mediation, to
legal aid, out of scope...) follow the labelled data. Each keeps its text and place, so routing
decides it as labelled; what varies is what varies between real calls:

- a few words of the caller's own before and after the text;
- the door and flat on a known address (`3单元402室`), so two fresh calls about one estate are not
  one incident by the same normalized address; a point moved within about 100 m;
- the petitioner: a new phone number, and a name and the channel's other details where the channel
  asks for them (petition visits, 110 transfers, grid reports).

Two shares make the links intake looks for: a *repeat* is an earlier petitioner calling again about
the same matter; an *incident* is another person reporting what an earlier call reported, at the same
place. The labelled data carries no such labels, so their shares are parameters (10 % each by
default, in the range 12345 centres report for repeat calls).
"""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch_common.paths import DEFAULT_COUNTY_DIR, REPO_ROOT

LABELLED = (
    DEFAULT_COUNTY_DIR / "sample_cases.jsonl",
    REPO_ROOT / "tests" / "data" / "routing_dev_cases.jsonl",
)
OPENINGS = ("", "", "你好，", "我要反映个事，", "麻烦帮忙处理一下，", "您好，我是附近居民，")
CLOSINGS = ("", "", "希望尽快解决。", "已经好几天了。", "请相关部门处理。", "谢谢。")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静强磊军洋勇艳杰娟涛明超霞平"
NAMED = frozenset({"petition_visit", "petition_letter", "petition_online", "video"})
RECENT = 200  # repeats and incidents refer to one of the last this-many cases


def labelled_cases(paths: tuple[Path, ...] = LABELLED) -> list[dict[str, Any]]:
    """The labelled cases (without their labels' ids), from every file that exists."""
    cases = []
    for path in paths:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    cases.append(json.loads(line))
    if not cases:
        raise FileNotFoundError(f"no labelled cases in {', '.join(map(str, paths))}")
    return cases


@dataclass
class CaseMix:
    """Generates submission bodies (`POST /v1/cases`) and says which are repeats and incidents."""

    repeat_share: float = 0.10
    incident_share: float = 0.10
    seed: int = 20261205
    pool: list[dict[str, Any]] = field(default_factory=labelled_cases)
    _rng: random.Random = field(init=False)
    _recent: list[dict[str, Any]] = field(init=False, default_factory=list)
    _serial: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def bodies(self, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """`count` submissions, each with its kind: `fresh`, `repeat` or `incident`."""
        for _ in range(count):
            yield self.next()

    def next(self) -> tuple[str, dict[str, Any]]:
        """One submission and its kind."""
        rng = self._rng
        self._serial += 1
        roll = rng.random()
        callers = [b for b in self._recent if (b.get("petitioner") or {}).get("phone")]
        if callers and roll < self.repeat_share:
            kind, body = "repeat", self._repeat(rng.choice(callers))
        elif self._recent and roll < self.repeat_share + self.incident_share:
            kind, body = "incident", self._incident(rng.choice(self._recent))
        else:
            kind, body = "fresh", self._fresh(rng.choice(self.pool))
        self._recent.append(body)
        del self._recent[:-RECENT]
        return kind, body

    def _fresh(self, case: dict[str, Any]) -> dict[str, Any]:
        rng = self._rng
        body: dict[str, Any] = {"channel": case["channel"], "text": self._worded(case["text"])}
        if case.get("address"):
            door = f"{rng.randint(1, 6)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
            body["address"] = f"{case['address']}{door}"
        if case.get("lon") is not None:
            body["lon"] = round(case["lon"] + rng.uniform(-0.001, 0.001), 6)
            body["lat"] = round(case["lat"] + rng.uniform(-0.001, 0.001), 6)
        if case.get("people_count"):
            body["people_count"] = case["people_count"]
        return self._with_channel_details(body, self._person())

    def _repeat(self, earlier: dict[str, Any]) -> dict[str, Any]:
        """The same petitioner about the same matter again (重复件)."""
        body = {k: v for k, v in earlier.items() if k not in ("police_incident_no", "grid_worker")}
        body["text"] = self._worded(earlier["text"])
        return self._with_channel_details(body, dict(earlier["petitioner"]), again=True)

    def _incident(self, earlier: dict[str, Any]) -> dict[str, Any]:
        """Another person reporting the same thing at the same place (并单)."""
        body = {k: v for k, v in earlier.items() if k not in ("police_incident_no", "grid_worker")}
        body["text"] = self._worded(earlier["text"])
        return self._with_channel_details(body, self._person())

    def _worded(self, text: str) -> str:
        for part in (*OPENINGS, *CLOSINGS):  # take off an earlier caller's own words
            if part and text.startswith(part):
                text = text[len(part) :]
            if part and text.endswith(part):
                text = text[: -len(part)]
        return f"{self._rng.choice(OPENINGS)}{text}{self._rng.choice(CLOSINGS)}"

    def _person(self) -> dict[str, Any]:
        rng = self._rng
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        return {"name": name, "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"}

    def _with_channel_details(
        self, body: dict[str, Any], person: dict[str, Any], *, again: bool = False
    ) -> dict[str, Any]:
        """The petitioner (`again`: one who called before) and what each channel must carry."""
        rng = self._rng
        channel = body["channel"]
        if channel in NAMED or again or rng.random() < 0.7:  # hotline callers mostly leave a number
            body["petitioner"] = person
        else:
            body["petitioner"] = {"anonymous": True}
        if channel == "petition_visit":
            body.setdefault("people_count", 1)
            if body["people_count"] >= 5:
                body["representatives"] = [self._person() for _ in range(min(2, body["people_count"]))]
        if channel == "police_110":
            body["police_incident_no"] = f"110-{self._serial:08d}"
        if channel == "grid_report":
            body["grid_worker"] = {"id": f"GW{rng.randrange(1, 82):03d}"}
        if channel == "proactive":
            body["campaign"] = "矛盾纠纷排查"
        return body
