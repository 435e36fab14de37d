"""Case snapshots for the duplicate tests (unit and integration): one policy, one clock, one place."""

from datetime import UTC, datetime, timedelta

from services.intake.domain.duplicates import CaseSnapshot, DuplicatePolicy

POLICY = DuplicatePolicy.load()
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
LON, LAT = 116.40, 39.90
ALICE, BOB, CAROL = "a" * 64, "b" * 64, "c" * 64

NOISE = "楼下广场舞音响太吵，每天晚上放到十点多。"
NOISE_AGAIN = "每天晚上十点多了楼下跳广场舞的音响还很吵，影响休息"
LIGHT = "解放路路灯坏了一个月没人修，晚上出行不安全。"
LIGHT_AGAIN = "解放路上的路灯坏了快一个月了，晚上走路很不安全，希望尽快修好"
WAGES = "装修公司拖欠工人工资三个月。"


def snapshot(
    n: int,
    text: str,
    *,
    case_id: str,
    ago: timedelta = timedelta(0),
    who: str | None = ALICE,
    lon: float | None = LON,
    lat: float | None = LAT,
    address: str | None = None,
) -> CaseSnapshot:
    """Case number n, received `ago` before NOW, by petitioner `who`, at (lon, lat) or an address."""
    return CaseSnapshot.build(
        case_id=case_id,
        case_no=f"990102-2026-{n:06d}",
        received_at=NOW - ago,
        text=text,
        policy=POLICY,
        petitioner_hash=who,
        lon=lon,
        lat=lat,
        address=address,
    )
