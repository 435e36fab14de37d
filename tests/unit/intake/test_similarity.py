"""Similarity of Chinese complaints: paraphrases score high, unrelated complaints low, and the laws hold."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_common.similarity import Fingerprint, fingerprint, normalize, similarity

PARAPHRASES = [
    ("楼下广场舞音响太吵，每天晚上放到十点多。", "每天晚上十点多了楼下跳广场舞的音响还很吵，影响休息"),
    ("路边垃圾桶满了好几天没人清运，臭味很大。", "路边的垃圾好几天没人清运了，垃圾桶都满了，很臭"),
    ("装修公司拖欠工人工资三个月。", "我们在装修公司干活，工资被拖欠了3个月还没发"),
    ("小区电梯经常困人，物业不管。", "小区电梯又困人了，物业一直不管不问"),
    (
        "解放路路灯坏了一个月没人修，晚上出行不安全。",
        "解放路上的路灯坏了快一个月了，晚上走路很不安全，希望尽快修好",
    ),
    ("幸福小区3号楼下水道堵塞，污水漫到路面上。", "幸福小区三号楼的下水道堵了，脏水流得满地都是"),
    ("人民路与建设路交叉口红绿灯不亮，车辆乱成一团。", "人民路和建设路路口的红绿灯坏了不亮，交通很乱"),
]

UNRELATED = [
    ("小区停水两天了，也没有提前通知。", "楼下广场舞音响太吵，每天晚上放到十点多。"),
    ("路边垃圾桶满了好几天没人清运，臭味很大。", "装修公司拖欠工人工资三个月。"),
    ("小区电梯经常困人，物业不管。", "小区停车位被外来车辆占用，物业不管。"),
    ("解放路路灯坏了一个月没人修，晚上出行不安全。", "解放路上有人占道经营，晚上烧烤油烟很大。"),
    ("我们小区已经连续两天没水了，事先没有任何通知", "我们小区已经连续两天停电了，冰箱里东西都坏了"),
    ("人民路与建设路交叉口红绿灯不亮，车辆乱成一团。", "人民路一家饭店油烟直排，熏得邻居没法开窗。"),
]


@pytest.mark.parametrize(("a", "b"), PARAPHRASES)
def test_paraphrases_of_one_complaint_score_high(a, b):
    assert similarity(fingerprint(a), fingerprint(b)) >= 0.45


@pytest.mark.parametrize(("a", "b"), UNRELATED)
def test_unrelated_complaints_score_low(a, b):
    assert similarity(fingerprint(a), fingerprint(b)) <= 0.3


def test_every_paraphrase_beats_every_unrelated_pair():
    low = min(similarity(fingerprint(a), fingerprint(b)) for a, b in PARAPHRASES)
    high = max(similarity(fingerprint(a), fingerprint(b)) for a, b in UNRELATED)
    assert low > high


def test_normalize_folds_width_case_punctuation_and_chinese_counts():
    assert normalize("  幸福小区 三号楼，２３单元！ABC ") == "幸福小区3号楼23单元abc"
    assert normalize("二十三栋、十二层、一百零五室、两天") == "23栋12层105室2天"


def test_fingerprint_drops_function_words_and_keeps_content():
    fp = fingerprint("我们小区的电梯又坏了吗？")
    assert "的" not in fp.tokens and "我们" not in fp.tokens and "吗" not in fp.tokens
    assert "电梯" in fp.tokens
    assert fp.text == "我们小区的电梯又坏了吗"


def test_rebuilt_fingerprint_equals_the_original():
    fp = fingerprint("燃气管道有漏气的味道，担心出事")
    again = Fingerprint.from_tokens(fp.text, list(fp.tokens))
    assert again == fp
    assert similarity(fp, again) == 1.0


def test_identical_after_normalization_is_one_and_empty_text_is_safe():
    assert similarity(fingerprint("路灯坏了"), fingerprint("路灯 坏了！")) == 1.0
    assert similarity(fingerprint(""), fingerprint("")) == 1.0
    assert similarity(fingerprint(""), fingerprint("路灯坏了")) == 0.0
    assert similarity(fingerprint("的了吗"), fingerprint("呢吧啊")) == 0.0


def test_one_text_against_200_candidates_takes_a_few_milliseconds():
    texts = [a for a, _ in PARAPHRASES + UNRELATED] * 16
    candidates = [fingerprint(t) for t in texts][:200]
    new = fingerprint("解放路上的路灯坏了快一个月了，晚上走路很不安全")
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for c in candidates:
            similarity(new, c)
        best = min(best, time.perf_counter() - start)
    assert best < 0.005


CHINESE = st.text(
    alphabet=st.sampled_from(
        list("小区停水电梯物业路灯坏了没人修垃圾噪音太吵的我们解放路三号楼，。！ 12ＡＢ")
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(CHINESE, CHINESE)
def test_similarity_is_symmetric_and_bounded(a, b):
    fa, fb = fingerprint(a), fingerprint(b)
    s = similarity(fa, fb)
    assert 0.0 <= s <= 1.0
    assert s == similarity(fb, fa)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_a_text_is_fully_similar_to_itself(text):
    assert similarity(fingerprint(text), fingerprint(text)) == 1.0


def test_a_stored_fingerprint_rebuilt_from_its_bigrams_compares_as_one_rebuilt_from_its_tokens():
    from dispatch_common.similarity import Fingerprint, fingerprint, similarity

    a = fingerprint("小区电梯经常困人，物业不管，已经反映多次。")
    b = fingerprint("电梯又困人了，物业公司一直不修。")
    stored = Fingerprint.from_tokens(b.text, list(b.tokens), sorted(b.bigrams))
    rebuilt = Fingerprint.from_tokens(b.text, list(b.tokens))
    assert stored.bigrams == rebuilt.bigrams == b.bigrams
    assert similarity(a, stored) == similarity(a, rebuilt) == similarity(a, b) > 0
