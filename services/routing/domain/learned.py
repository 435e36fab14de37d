"""A statistical classifier learned from people's corrections, next to the lexicon, and as explainable.

Features are TF-IDF weights of the character 1- to 3-grams of the prepared text (place names and
boilerplate hidden, as the lexicon sees it): Chinese needs no segmentation for that, and n-grams
catch words the lexicon has not listed yet. A logistic regression picks the first-level category
and another the second-level one among the examples that have it. The evidence of a prediction is
the n-grams of the text that pushed the chosen category most (TF-IDF weight x coefficient).

The lexicon decides first; the model is asked only where the lexicon is unsure (no match, or a
confidence under the manual threshold), and its answer counts only above `min_probability`. It
reads the first `LEARNED_CHARS` characters of the prepared text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .models import CategoryChoice

LEARNED_CHARS = 1000
"""How much of a prepared text the model reads, in training and in use: the n-grams of a 5,000-character
text cost sklearn about 13 ms per model, and a text says what it is about at its start; nearly every
complaint is shorter (docs/decisions/0018)."""


@dataclass(frozen=True)
class Example:
    """One labelled case: its text and the category a person gave or confirmed."""

    text: str
    code: str
    subcode: str | None = None


def _fit(texts: list[str], labels: list[str]) -> tuple[TfidfVectorizer, LogisticRegression] | None:
    if len(set(labels)) < 2:
        return None
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(max_iter=2000, C=10.0)
    model.fit(features, labels)
    return vectorizer, model


class LearnedClassifier:
    """First- and second-level models trained on labelled examples; None parts when too few labels."""

    def __init__(
        self,
        first: tuple[TfidfVectorizer, LogisticRegression] | None,
        second: tuple[TfidfVectorizer, LogisticRegression] | None,
        examples: int,
        prepare: Callable[[str | None], str],
        first_level: Callable[[str], str | None],
    ) -> None:
        self._first, self._second = first, second
        # the n-grams by column, for the evidence: sklearn builds this array anew on every call
        self._names = first[0].get_feature_names_out() if first else None
        self.examples = examples
        self._prepare = prepare
        self._first_level = first_level

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        prepare: Callable[[str | None], str],
        first_level: Callable[[str], str | None],
    ) -> LearnedClassifier | None:
        """Train from examples; None unless at least two first-level categories are present."""
        texts = [prepare(e.text)[:LEARNED_CHARS] for e in examples]
        first = _fit(texts, [e.code for e in examples])
        if first is None:
            return None
        with_sub = [(t, e.subcode) for t, e in zip(texts, examples, strict=True) if e.subcode]
        second = _fit([t for t, _ in with_sub], [s for _, s in with_sub if s]) if with_sub else None
        return cls(first, second, len(examples), prepare, first_level)

    @property
    def categories(self) -> list[str]:
        """The first-level categories the model knows."""
        return [str(c) for c in self._first[1].classes_] if self._first else []

    def classify(self, text: str | None, *, evidence_terms: int = 5) -> CategoryChoice:
        """The most probable category, its probability as the confidence, and the n-grams behind it."""
        if self._first is None:
            return CategoryChoice()
        prepared = self._prepare(text)[:LEARNED_CHARS]
        vectorizer, model = self._first
        features = vectorizer.transform([prepared])
        if features.nnz == 0:
            return CategoryChoice()
        probabilities = model.predict_proba(features)[0]
        best = int(np.argmax(probabilities))
        code = str(model.classes_[best])
        subcode = self._subcode(prepared, code)
        return CategoryChoice(
            code=code,
            subcode=subcode,
            confidence=round(float(probabilities[best]), 3),
            evidence=self._evidence(self._names, model, features, best, evidence_terms),
        )

    def _subcode(self, prepared: str, code: str) -> str | None:
        if self._second is None:
            return None
        vectorizer, model = self._second
        probabilities = model.predict_proba(vectorizer.transform([prepared]))[0]
        ranked = sorted(zip(model.classes_, probabilities, strict=True), key=lambda cp: -cp[1])
        for sub, _ in ranked:  # the most probable child of the chosen first-level category
            if self._first_level(str(sub)) == code:
                return str(sub)
        return None

    @staticmethod
    def _evidence(
        names: np.ndarray | None, model: LogisticRegression, features: object, best: int, terms: int
    ) -> list[str]:
        row = features.tocoo()  # type: ignore[attr-defined]
        coef = model.coef_[best] if model.coef_.shape[0] > 1 else model.coef_[0] * (1 if best == 1 else -1)
        assert names is not None
        pushes = row.data * coef[row.col]
        cols = row.col
        if len(pushes) > terms:  # only the strongest few (and their ties) are named and sorted
            keep = pushes >= np.partition(pushes, len(pushes) - terms)[len(pushes) - terms]
            pushes, cols = pushes[keep], cols[keep]
        ranked = sorted(
            ((float(push), str(names[col])) for col, push in zip(cols, pushes, strict=True)), reverse=True
        )
        return [f"model n-gram '{name}'" for push, name in ranked[:terms] if push > 0]
