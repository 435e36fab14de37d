"""Text fingerprints and similarity for Chinese complaints (pure: no I/O besides jieba's dictionary).

A fingerprint keeps the normalized text, its content tokens (jieba words without function words) and
the set of character bigrams of those tokens. Similarity blends two views so that neither
segmentation mistakes nor word-order changes dominate:

- a weighted Dice coefficient over content tokens, where words every complaint shares (小区, 物业,
  问题, 晚上...) count for little, so two complaints are not "similar" only because both are about
  a residential compound;
- a Dice coefficient over character bigrams of the specific (non-generic) tokens, which survives
  jieba cutting the same phrase differently (垃圾桶 / 垃圾 / 桶).

Both are symmetric and in [0, 1]; identical normalized texts score 1.0. Comparing one text with
200 stored fingerprints takes about 0.4 ms; building a fingerprint (jieba) costs about 50 µs, so
stored cases keep their tokens and are rebuilt with `Fingerprint.from_tokens`.

Only the first `COMPARED_CHARS` characters of the normalized text are compared: a complaint says
what it is about at its start, and the bound keeps one registration's cost bounded whatever the texts
(a 5,000-character text costs jieba about 30 ms, and a lookup rebuilds up to 400 stored ones;
docs/decisions/0018). Texts shorter than that, nearly all of them, compare whole.

Chinese counts before a counter (三号楼, 两天, 二十三栋) are written as digits by `normalize`, so
"3号楼" and "三号楼" compare equal.
"""

import logging
import operator
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from itertools import filterfalse, repeat

import jieba

from dispatch_common.numerals import chinese_number


def _words(listing: str) -> frozenset[str]:
    return frozenset(listing.split())


# Function words only: particles, pronouns, prepositions, conjunctions, politeness.
STOP_WORDS = _words(
    """
    的 地 得 了 着 过 吗 呢 吧 啊 呀 哦 嘛 啦 哈 么 嗯 哎 唉 呗 和 与 及 以及 或 或者 而 且 并 并且 也 都 就
    还 又 才 再 很 太 挺 非常 特别 比较 我 我们 咱们 你 你们 您 他 她 它 他们 她们 它们 自己 这 那 这个 那个
    这些 那些 这里 那里 这边 那边 这样 那样 在 是 把 被 给 让 对 从 向 往 于 以 为 为了 因为 所以 但是 但
    可是 不过 如果 要是 一个 一下 一些 什么 怎么 怎么办 请 麻烦 谢谢 您好 你好
    """
)

# Words nearly every complaint contains; they still count, at a small weight.
GENERIC_WORDS = _words(
    """
    小区 物业 问题 反映 希望 要求 解决 已经 一直 经常 总是 没有 没 不 连续 现在 目前 处理 相关 部门 尽快
    市民 来电 投诉 举报 情况 严重 影响 居民 我家 家里 楼下 附近 每天 晚上 白天 好几天 几天 天 多 好 人
    """
)
COMPARED_CHARS = 200
BIGRAM_SHIFT = 21  # a code point takes 21 bits: a bigram is the first shifted, or'ed with the second
"""How many characters of a normalized text its fingerprint keeps (and similarity compares)."""
GENERIC_WEIGHT = 3  # tenths: a generic word counts 0.3 of a specific one (integers keep sums exact)
SPECIFIC_WEIGHT = 10
TOKEN_WEIGHT = 0.5  # share of the token view in the blend; the bigram view has the rest

# A Chinese number directly before a counter or unit (三号楼, 两天, 十二栋): written as digits.
_CN_NUMBER = re.compile(
    r"([零〇一二两三四五六七八九十百]+)(?=[号楼栋幢单元层室户个天月年次期路街巷组排小分])"
)

_jieba_lock = threading.Lock()
_jieba_ready = False


def _segment(text: str) -> list[str]:
    """jieba words, initializing the dictionary once and quietly."""
    global _jieba_ready
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba.lcut(text)


def warm_up() -> None:
    """Load jieba's dictionary now (about a second), so the first case does not wait for it."""
    _segment("预热")


def _digits(match: re.Match[str]) -> str:
    return str(chinese_number(match.group(1)))


def normalize(text: str) -> str:
    """NFKC, lower case, Chinese counts as digits; only letters and digits kept (no spaces, punctuation)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")
    return _CN_NUMBER.sub(_digits, kept)


def _bigrams(tokens: tuple[str, ...]) -> frozenset[int]:
    """The character bigrams of the specific tokens, each as one integer (two code points), so that a
    stored case keeps them as numbers and a lookup rebuilds its set without making a string each."""
    joined = "".join(filterfalse(GENERIC_WORDS.__contains__, tokens)) or "".join(tokens)
    codes = [ord(ch) for ch in joined]
    if len(codes) < 2:
        return frozenset(codes)
    return frozenset(map(operator.or_, map(operator.lshift, codes, repeat(BIGRAM_SHIFT)), codes[1:]))


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What similarity needs of a text: normalized text, content tokens, character bigrams."""

    text: str
    tokens: tuple[str, ...]
    token_set: frozenset[str] = field(repr=False)
    bigrams: frozenset[int] = field(repr=False)
    weight: int = field(default=0, repr=False)  # of token_set, as token_similarity counts it

    @classmethod
    def from_tokens(
        cls, text: str, tokens: list[str] | tuple[str, ...], bigrams: list[int] | None = None
    ) -> "Fingerprint":
        """Rebuild a stored fingerprint without segmenting again (text already normalized), from its
        stored bigrams when it has them. A stored text longer than COMPARED_CHARS (stored before the
        bound) keeps as many characters and words."""
        toks = tuple(tokens[:COMPARED_CHARS])
        token_set = frozenset(toks)
        pairs = (
            frozenset(bigrams) if bigrams is not None and len(tokens) <= COMPARED_CHARS else _bigrams(toks)
        )
        return cls(text[:COMPARED_CHARS], toks, token_set, pairs, _weight(token_set))


def fingerprint(text: str) -> Fingerprint:
    """The fingerprint of a raw or normalized text: of its first COMPARED_CHARS characters, normalized."""
    normalized = normalize(text)[:COMPARED_CHARS]
    tokens = tuple(t for t in _segment(normalized) if t not in STOP_WORDS)
    return Fingerprint.from_tokens(normalized, tokens)


def _weight(tokens: frozenset[str]) -> int:
    # every word at SPECIFIC_WEIGHT, less the difference for the generic ones (set operations, in C)
    return SPECIFIC_WEIGHT * len(tokens) - (SPECIFIC_WEIGHT - GENERIC_WEIGHT) * len(tokens & GENERIC_WORDS)


def token_similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Weighted Dice over content tokens; generic complaint words weigh 0.3 of a specific word."""
    total = a.weight + b.weight
    if total == 0:
        return 1.0 if a.text == b.text else 0.0
    return min(1.0, 2 * _weight(a.token_set & b.token_set) / total)


def bigram_similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Dice over character bigrams of the specific tokens."""
    total = len(a.bigrams) + len(b.bigrams)
    if total == 0:
        return 1.0 if a.text == b.text else 0.0
    return 2 * len(a.bigrams & b.bigrams) / total


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """How alike two complaints read, in [0, 1]; symmetric; 1.0 for the same normalized text."""
    if a.text == b.text:
        return 1.0
    score = TOKEN_WEIGHT * token_similarity(a, b) + (1 - TOKEN_WEIGHT) * bigram_similarity(a, b)
    return max(0.0, min(1.0, score))
